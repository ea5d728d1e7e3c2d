import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const example = fileURLToPath(new URL('../examples/call-service.ts', import.meta.url));
const readme = fileURLToPath(new URL('../README.md', import.meta.url));

test('the README example runs: the 503 is retried on the other instance, which learns the budget', async () => {
  const { stdout } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=@switchyard/source', example],
      { timeout: 10_000, killSignal: 'SIGKILL' },
      (err, out, errOut) =>
        err ? reject(Object.assign(err, { stderr: errOut })) : resolve({ stdout: out, stderr: errOut }),
    );
  });
  assert.deepEqual(stdout.trim().split('\n'), [
    'attempt 2: orders-1 answered 503, retrying on orders-2',
    "{ status: 200, from: 'orders-2', attempts: 2, budget: '5s' }",
  ]);
});

test('the README shows the example file verbatim', async () => {
  const [source, text] = await Promise.all([readFile(example, 'utf8'), readFile(readme, 'utf8')]);
  assert.ok(text.includes(source.trim()), 'README.md must embed examples/call-service.ts unchanged');
});
