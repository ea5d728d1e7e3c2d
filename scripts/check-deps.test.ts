import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkDependencies, extractImports } from './check-deps-lib.ts';

function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'sy-deps-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tree(extra: Record<string, string>): string {
  const root = fixture({
    'package.json': JSON.stringify({ workspaces: ['packages/*', 'adapters/*'] }),
    'packages/core/package.json': JSON.stringify({ name: '@switchyard/core', dependencies: { zod: '1' } }),
    'packages/core/tsconfig.json': JSON.stringify({ references: [] }),
    'packages/core/src/index.ts': "import * as z from 'zod';\nexport const x = z;\n",
    'packages/gateway/package.json': JSON.stringify({
      name: '@switchyard/gateway',
      dependencies: { '@switchyard/core': '0', undici: '1' },
    }),
    'packages/gateway/tsconfig.json': JSON.stringify({ references: [{ path: '../core' }] }),
    'packages/gateway/src/index.ts': "import { x } from '@switchyard/core';\nimport { request } from 'undici';\n",
    ...extra,
  });
  roots.push(root);
  return root;
}

describe('checkDependencies', () => {
  it('accepts a tree that follows the rules', () => {
    assert.deepEqual(checkDependencies(tree({})), []);
  });

  it('rejects I/O in core, naming file and line', () => {
    const v = checkDependencies(
      tree({ 'packages/core/src/io.ts': "// reads files\nimport { readFileSync } from 'node:fs';\n" }),
    );
    assert.deepEqual(v, [
      { file: 'packages/core/src/io.ts', line: 2, message: '@switchyard/core must not do I/O, but imports "node:fs"' },
    ]);
  });

  it('rejects an inward package importing an outer one', () => {
    const v = checkDependencies(
      tree({
        'packages/core/package.json': JSON.stringify({
          name: '@switchyard/core',
          dependencies: { zod: '1', '@switchyard/gateway': '0' },
        }),
        'packages/core/src/up.ts': "export { x } from '@switchyard/gateway';\n",
      }),
    );
    assert.ok(v.some((x) => x.message.startsWith('@switchyard/core may not depend on @switchyard/gateway')));
    assert.ok(v.some((x) => x.message === 'missing project reference to ../gateway'));
  });

  it('rejects drivers outside adapters, deep imports, undeclared deps and cycles', () => {
    const v = checkDependencies(
      tree({
        'packages/gateway/src/a.ts': "import pg from 'pg';\nimport { b } from './b.ts';\nexport const a = 1;\n",
        'packages/gateway/src/b.ts': "import { a } from './a.ts';\nexport const b = a;\n",
        'packages/gateway/src/c.ts': "const m = await import('@switchyard/core/src/errors.ts');\n",
      }),
    ).map((x) => x.message);
    assert.ok(v.includes('driver "pg" may only be imported by a package under adapters/'));
    assert.ok(v.includes('"pg" is imported but not declared in dependencies'));
    assert.ok(v.some((m) => m.startsWith('deep import "@switchyard/core/src/errors.ts"')));
    assert.ok(v.some((m) => m.startsWith('import cycle: packages/gateway/src/a.ts -> packages/gateway/src/b.ts')));
  });

  it('allows drivers in adapters', () => {
    const v = checkDependencies(
      tree({
        'adapters/postgres/package.json': JSON.stringify({
          name: '@switchyard/adapter-postgres',
          dependencies: { pg: '8', '@switchyard/core': '0' },
        }),
        'adapters/postgres/tsconfig.json': JSON.stringify({ references: [{ path: '../../packages/core' }] }),
        'adapters/postgres/src/index.ts': "import pg from 'pg';\nimport { x } from '@switchyard/core';\n",
      }),
    );
    assert.deepEqual(v, []);
  });
});

describe('extractImports', () => {
  it('finds static, type-only, re-export and dynamic imports, not ones in comments', () => {
    const refs = extractImports(
      [
        "import a from 'a';",
        "import type { B } from 'b';",
        "export { c } from 'c';",
        'const d = await import("d");',
        "// import e from 'e';",
        "/* import f from 'f'; */",
        "import 'g';",
      ].join('\n'),
    );
    assert.deepEqual(
      refs.map((r) => `${r.specifier}@${r.line}`),
      ['a@1', 'b@2', 'c@3', 'd@4', 'g@7'],
    );
  });
});
