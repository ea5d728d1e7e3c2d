import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, it } from 'node:test';
import { promisify } from 'node:util';
import { ETCD_URL, requireEtcd } from './internal/require-etcd.ts';

const run = promisify(execFile);
const example = new URL('../examples/register-and-discover.ts', import.meta.url);
const readme = new URL('../README.md', import.meta.url);

before(() => requireEtcd());

it('examples/register-and-discover.ts runs against etcd, prints what the README says, and is quoted there verbatim', async () => {
  const source = readFileSync(example, 'utf8').trim();
  const text = readFileSync(readme, 'utf8');
  assert.ok(text.includes(source), 'README.md does not quote examples/register-and-discover.ts verbatim');
  // NODE_OPTIONS (--conditions=@switchyard/source, from scripts/test.ts) is inherited.
  const { stdout } = await run(process.execPath, [example.pathname], {
    timeout: 20_000,
    env: { ...process.env, SWITCHYARD_ETCD_URL: ETCD_URL },
  });
  const expected = /It prints:\n\n```\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(expected !== undefined, 'README.md has no "It prints:" block');
  assert.equal(stdout, expected);
});
