import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, it } from 'node:test';
import { promisify } from 'node:util';
import { requireRedis } from './internal/require-redis.ts';

const run = promisify(execFile);
const example = new URL('../examples/shared-breaker.ts', import.meta.url);
const readme = new URL('../README.md', import.meta.url);

before(() => requireRedis());

it('examples/shared-breaker.ts runs against Redis, prints what the README says, and is quoted there verbatim', async () => {
  const source = readFileSync(example, 'utf8').trim();
  const text = readFileSync(readme, 'utf8');
  assert.ok(text.includes(source), 'README.md does not quote examples/shared-breaker.ts verbatim');
  // NODE_OPTIONS (--conditions=@switchyard/source, from scripts/test.ts) is inherited.
  const { stdout } = await run(process.execPath, [example.pathname], { timeout: 20_000 });
  const expected = /It prints:\n\n```\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(expected !== undefined, 'README.md has no "It prints:" block');
  assert.equal(stdout, expected);
});
