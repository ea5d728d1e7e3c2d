import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { invalidConfig, isSwitchyardError } from '@switchyard/core';
import { cliError } from './errors.ts';

/** Options of {@link scaffoldService}. */
export interface InitOptions {
  /** Service name, as in `services:` and the registry. */
  readonly name: string;
  /** Target directory. @default `./<name>` */
  readonly dir?: string | undefined;
  /** Relative paths are resolved against this. @default process.cwd() */
  readonly cwd?: string | undefined;
  /** Version range of the `@switchyard/*` dependencies. @default "^0.1.0" */
  readonly version?: string | undefined;
}

/** What {@link scaffoldService} wrote. */
export interface InitResult {
  /** The absolute target directory. */
  readonly dir: string;
  /** Paths written, relative to `dir`. */
  readonly files: readonly string[];
  /** The `services:` entry to paste into switchyard.yaml. */
  readonly snippet: string;
}

const serviceName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Writes a new service: `package.json`, `src/main.ts` (a `startService` that registers itself,
 * serves `GET /health` and `GET /hello`), `src/main.test.ts` (starts it on port 0 against an
 * embedded registry and checks it registers and answers) and a `README.md` with the
 * `services:` entry for switchyard.yaml.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a name that is not a valid service name,
 *   `SY_CLI_INIT_TARGET_EXISTS` when the directory exists and is not empty (nothing is written)
 * @example
 * ```ts
 * const { dir, snippet } = scaffoldService({ name: 'billing' });
 * console.log(`wrote ${dir}\n${snippet}`);
 * ```
 */
export function scaffoldService(options: InitOptions): InitResult {
  const { name } = options;
  if (!serviceName.test(name)) {
    throw invalidConfig(
      [
        {
          path: 'name',
          message: `${JSON.stringify(name)} is not a service name: use letters, digits, "-", "_" and ".", starting with a letter or digit`,
        },
      ],
      'switchyard init',
    );
  }
  const cwd = options.cwd ?? process.cwd();
  const dir = resolve(cwd, options.dir ?? name);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory())
      throw cliError('SY_CLI_INIT_TARGET_EXISTS', `${dir} exists and is not a directory; pick another --dir`, {
        details: { dir },
      });
    if (readdirSync(dir).length > 0)
      throw cliError(
        'SY_CLI_INIT_TARGET_EXISTS',
        `${dir} is not empty; refusing to overwrite it (pick another --dir, or empty it first)`,
        { details: { dir } },
      );
  }
  const version = options.version ?? '^0.1.0';
  const relativeDir = relative(cwd, dir) || '.';
  const snippet = [
    'services:',
    `  ${name}:`,
    '    command: node src/main.ts',
    `    cwd: ${relativeDir.startsWith('.') ? relativeDir : `./${relativeDir}`}`,
    '    replicas: 1',
    '',
    'gateway:',
    '  routes:',
    `    - path: /api/${name}`,
    `      service: ${name}`,
    '      rewrite: /hello',
  ].join('\n');
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify(
      {
        name: name.toLowerCase(),
        version: '0.1.0',
        private: true,
        type: 'module',
        engines: { node: '>=22.18' },
        scripts: { start: 'node src/main.ts', test: 'node --test src/' },
        dependencies: { '@switchyard/service': version },
        devDependencies: { '@switchyard/discovery': version },
      },
      null,
      2,
    )}\n`,
    'src/main.ts': mainSource(name),
    'src/main.test.ts': testSource(name),
    'README.md': readmeSource(name, snippet),
  };
  mkdirSync(join(dir, 'src'), { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return { dir, files: Object.keys(files), snippet };
}

/**
 * `switchyard init <name> [--dir d]`: scaffolds a service and prints the `services:` entry.
 * Returns the exit code: 0, or 2 when the name is invalid or the directory is not empty.
 *
 * @example
 * ```ts
 * process.exitCode = runInit({ name: 'billing', dir: 'services/billing' });
 * ```
 */
export function runInit(
  options: InitOptions & { write?: (text: string) => void; writeError?: (text: string) => void },
): 0 | 2 {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const writeError = options.writeError ?? ((text: string) => process.stderr.write(text));
  try {
    const result = scaffoldService(options);
    write(
      [
        `created ${result.dir}:`,
        ...result.files.map((file) => `  ${file}`),
        '',
        'Add it to switchyard.yaml (paths relative to this directory):',
        '',
        result.snippet,
        '',
        `Then: cd ${relative(options.cwd ?? process.cwd(), result.dir) || '.'} && npm install && npm test`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (err) {
    writeError(`${isSwitchyardError(err) ? `error ${err.code}: ${err.message}` : `error: ${String(err)}`}\n`);
    return 2;
  }
}

function mainSource(name: string): string {
  return `import { fileURLToPath } from 'node:url';
import { type RunningService, startService } from '@switchyard/service';

/** Where to listen and register; under \`switchyard up\` all of it comes from the environment. */
export interface MainOptions {
  /** Port; 0 picks a free one. @default env PORT, else 0 */
  port?: number;
  /** Consul-compatible registry URL. @default env SWITCHYARD_REGISTRY_URL (unset: no registration) */
  registry?: string;
  /** Stop gracefully on SIGTERM/SIGINT. @default true */
  handleSignals?: boolean;
}

/**
 * Starts the ${name} service: \`GET /health\` for the registry's check, \`GET /hello\` as an
 * example route, 404 for anything else.
 */
export async function main(options: MainOptions = {}): Promise<RunningService> {
  const service = await startService({
    name: ${JSON.stringify(name)},
    ...options,
    handler: (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/hello') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ message: ${JSON.stringify(`hello from ${name}`)}, instance: service.id }));
        return;
      }
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: \`no route for \${req.method} \${path}\` } }));
    },
  });
  return service;
}

// Run directly (\`node src/main.ts\`, as switchyard up does), not when imported by the test.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const service = await main();
  console.log(\`\${service.id} listening on \${service.url}\`);
}
`;
}

function testSource(name: string): string {
  return `import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createRegistry, createRegistryServer } from '@switchyard/discovery';
import { main } from './main.ts';

it('registers with the registry, passes its health check and answers GET /hello', async (t) => {
  const registry = createRegistry();
  const registryServer = await createRegistryServer({ registry, host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await registryServer.close();
    registry.close();
  });

  const service = await main({ port: 0, registry: registryServer.url, handleSignals: false });
  t.after(() => service.close());

  const deadline = Date.now() + 5000;
  while (!registry.instances(${JSON.stringify(name)}, { passing: true }).some((h) => h.Service.ID === service.id)) {
    assert.ok(Date.now() < deadline, 'the service did not turn passing in the registry within 5s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const health = await fetch(\`\${service.url}/health\`);
  assert.equal(health.status, 200);
  await health.arrayBuffer();

  const res = await fetch(\`\${service.url}/hello\`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { message: ${JSON.stringify(`hello from ${name}`)}, instance: service.id });

  const missing = await fetch(\`\${service.url}/nope\`);
  assert.equal(missing.status, 404);
  await missing.arrayBuffer();
});
`;
}

function readmeSource(name: string, snippet: string): string {
  return `# ${name}

A Switchyard service made with \`switchyard init ${name}\`.

- \`npm start\` runs it alone (no registry unless \`SWITCHYARD_REGISTRY_URL\` is set).
- \`npm test\` starts it on a free port against an embedded registry and checks that it
  registers and answers.

## Run it with switchyard up

Add this to your \`switchyard.yaml\` (\`cwd\` is relative to that file: adjust it if the file
is elsewhere), then \`npx switchyard up\`:

\`\`\`yaml
${snippet}
\`\`\`

\`curl -s http://127.0.0.1:8080/api/${name}\` then answers from one of its instances.
`;
}
