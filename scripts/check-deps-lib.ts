import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import {
  allowedInternal,
  driverPrefixes,
  drivers,
  ioBuiltins,
  pure,
  telemetryOnlyPrefixes,
} from './dependency-rules.ts';

/** One broken rule, with the file and line that breaks it. */
export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

interface Workspace {
  /** Short name: `core`, `example-shop`, `redis` for adapters. */
  readonly name: string;
  readonly dir: string;
  readonly isAdapter: boolean;
  readonly manifest: {
    name: string;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
}

interface ImportRef {
  readonly specifier: string;
  readonly line: number;
}

const importPattern =
  /(?:^|[^\w$.])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\sfrom\s+)?['"]([^'"]+)['"]|(?:^|[^\w$.])import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Extracts static and literal dynamic import specifiers, with line numbers. */
export function extractImports(source: string): ImportRef[] {
  const refs: ImportRef[] = [];
  const stripped = source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, '');
  for (const match of stripped.matchAll(importPattern)) {
    const specifier = match[1] ?? match[2];
    if (specifier === undefined) continue;
    const line = stripped.slice(0, match.index).split('\n').length + (match[0].startsWith('\n') ? 1 : 0);
    refs.push({ specifier, line });
  }
  return refs;
}

function packageOf(specifier: string): string {
  if (specifier.startsWith('@')) return specifier.split('/').slice(0, 2).join('/');
  return specifier.split('/')[0] as string;
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier);
}

function listTs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...listTs(full));
    else if (/\.(ts|mts|tsx)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function isTestFile(file: string): boolean {
  return /\.test(-d)?\.ts$/.test(file) || /[/\\](test|testing)[/\\]/.test(file);
}

/** Reads the root `package.json` workspaces (plain paths and `dir/*` globs). */
export function loadWorkspaces(root: string): Workspace[] {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces?: string[] };
  const dirs: string[] = [];
  for (const pattern of manifest.workspaces ?? []) {
    if (pattern.endsWith('/*')) {
      const parent = join(root, pattern.slice(0, -2));
      if (existsSync(parent)) for (const child of readdirSync(parent)) dirs.push(join(parent, child));
    } else dirs.push(join(root, pattern));
  }
  return dirs
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Workspace['manifest'];
      const isAdapter = relative(root, dir).startsWith('adapters');
      return { name: pkg.name.replace(/^@switchyard\/(adapter-)?/, ''), dir, isAdapter, manifest: pkg };
    });
}

/** Checks every workspace under `root` against the dependency rules. */
export function checkDependencies(root: string): Violation[] {
  const workspaces = loadWorkspaces(root);
  const byPackageName = new Map(workspaces.map((w) => [w.manifest.name, w]));
  const violations: Violation[] = [];

  for (const ws of workspaces) {
    const declared = new Set(Object.keys({ ...ws.manifest.dependencies, ...ws.manifest.peerDependencies }));
    const declaredDev = new Set(Object.keys(ws.manifest.devDependencies ?? {}));
    const internalAllowed = ws.isAdapter ? ['core', '*domain*'] : (allowedInternal[ws.name] ?? []);
    const files = listTs(join(ws.dir, 'src'));
    const graph = new Map<string, string[]>();

    for (const file of files) {
      const rel = relative(root, file);
      const edges: string[] = [];
      graph.set(file, edges);
      const report = (line: number, message: string) => violations.push({ file: rel, line, message });
      for (const { specifier, line } of extractImports(readFileSync(file, 'utf8'))) {
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier);
          if (!target.startsWith(`${ws.dir}/`)) report(line, `relative import "${specifier}" leaves the package`);
          else if (!isTestFile(file) && target.includes('/src/') && isTestFile(target))
            report(line, `"${specifier}": production code imports test code`);
          else edges.push(target);
          continue;
        }
        if (isBuiltin(specifier)) {
          const bare = specifier.replace(/^node:/, '');
          if (pure[ws.name] && ioBuiltins.includes(bare) && !isTestFile(file))
            report(line, `${ws.manifest.name} must not do I/O, but imports "${specifier}"`);
          continue;
        }
        const pkg = packageOf(specifier);
        if (pkg.startsWith('@switchyard/')) {
          if (!byPackageName.has(pkg)) report(line, `unknown workspace package "${pkg}"`);
          if (specifier !== pkg && !/^@switchyard\/[^/]+\/(testing)$/.test(specifier))
            report(line, `deep import "${specifier}": import from "${pkg}" (its exports map) instead`);
          const target = byPackageName.get(pkg);
          const targetName = target?.name ?? pkg.replace('@switchyard/', '');
          const allowed =
            internalAllowed.includes('*') ||
            internalAllowed.includes(targetName) ||
            (ws.isAdapter && target !== undefined && !target.isAdapter && targetName !== 'cli');
          if (!allowed && !isTestFile(file))
            report(
              line,
              `${ws.manifest.name} may not depend on ${pkg} (allowed: ${internalAllowed.join(', ') || 'none'})`,
            );
        } else {
          if (pure[ws.name] && !pure[ws.name]?.includes(pkg) && !isTestFile(file))
            report(line, `${ws.manifest.name} must stay pure; "${pkg}" is not an allowed dependency`);
          if ((drivers.includes(pkg) || driverPrefixes.some((p) => pkg.startsWith(p))) && !ws.isAdapter)
            report(line, `driver "${pkg}" may only be imported by a package under adapters/`);
          if (telemetryOnlyPrefixes.some((p) => pkg.startsWith(p)) && ws.name !== 'telemetry' && !ws.isAdapter)
            report(line, `"${pkg}" may only be imported by @switchyard/telemetry`);
        }
        const isDeclared = declared.has(pkg) || (isTestFile(file) && declaredDev.has(pkg));
        // Test tooling (fast-check) may come from the root; a workspace package a test imports
        // must be declared (devDependencies), so that a project reference orders the build.
        const rootDev = isTestFile(file) && (!pkg.startsWith('@switchyard/') || pkg === ws.manifest.name);
        if (!isDeclared && !rootDev) report(line, `"${pkg}" is imported but not declared in dependencies`);
      }
    }
    violations.push(...findCycles(graph, root));
    violations.push(...checkReferences(ws, byPackageName, root));
  }
  return violations;
}

function checkReferences(ws: Workspace, byName: Map<string, Workspace>, root: string): Violation[] {
  const tsconfigPath = join(ws.dir, 'tsconfig.json');
  if (!existsSync(tsconfigPath)) return [];
  const tsconfig = JSON.parse(readFileSync(tsconfigPath, 'utf8')) as { references?: Array<{ path: string }> };
  const referenced = new Set((tsconfig.references ?? []).map((r) => resolve(ws.dir, r.path)));
  const needed = new Set(
    Object.keys({ ...ws.manifest.dependencies, ...ws.manifest.devDependencies })
      .map((dep) => byName.get(dep)?.dir)
      .filter((dir): dir is string => dir !== undefined),
  );
  const out: Violation[] = [];
  const file = relative(root, tsconfigPath);
  for (const dir of needed)
    if (!referenced.has(dir))
      out.push({ file, line: 1, message: `missing project reference to ${relative(ws.dir, dir)}` });
  for (const dir of referenced)
    if (!needed.has(dir))
      out.push({ file, line: 1, message: `project reference ${relative(ws.dir, dir)} is not a dependency` });
  return out;
}

function findCycles(graph: Map<string, string[]>, root: string): Violation[] {
  const out: Violation[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (state.get(target) === 'visiting') {
        const cycle = stack.slice(stack.indexOf(target)).map((f) => relative(root, f));
        const key = [...cycle].sort().join('|');
        if (!reported.has(key)) {
          reported.add(key);
          out.push({
            file: cycle[0] as string,
            line: 1,
            message: `import cycle: ${[...cycle, cycle[0]].join(' -> ')}`,
          });
        }
      } else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return out;
}
