import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const example = new URL('../examples/backends-by-url.ts', import.meta.url);
const readme = new URL('../README.md', import.meta.url);

it('examples/backends-by-url.ts runs against etcd, prints what the README says, and is quoted there verbatim', async () => {
  const source = readFileSync(example, 'utf8').trim();
  const text = readFileSync(readme, 'utf8');
  assert.ok(text.includes(source), 'README.md does not quote examples/backends-by-url.ts verbatim');
  const env: Record<string, string | undefined> = {
    ...process.env,
    SWITCHYARD_ETCD_URL: process.env.SWITCHYARD_ETCD_URL ?? 'http://127.0.0.1:23790',
  };
  for (const name of ['SWITCHYARD_REGISTRY_URL', 'SWITCHYARD_SAGA_STORE', 'SWITCHYARD_EVENT_BUS']) delete env[name];
  // NODE_OPTIONS (--conditions=@switchyard/source, from scripts/test.ts) is inherited.
  const { stdout } = await run(process.execPath, [example.pathname], { timeout: 20_000, env });
  const expected = /It prints:\n\n```\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(expected !== undefined, 'README.md has no "It prints:" block');
  assert.equal(stdout, expected);
});
