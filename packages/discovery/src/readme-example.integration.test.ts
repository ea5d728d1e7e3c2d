import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const example = fileURLToPath(new URL('../examples/quickstart.ts', import.meta.url));
const readme = fileURLToPath(new URL('../README.md', import.meta.url));

test('the README quick start runs and prints the discovered instances', async () => {
  const { stdout } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=@switchyard/source', example],
      { timeout: 10_000, killSignal: 'SIGKILL' },
      (err, out, errOut) =>
        err ? reject(Object.assign(err, { stderr: errOut })) : resolve({ stdout: out, stderr: errOut }),
    );
  });
  const lines = stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^registry listening on http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(lines.slice(1), [
    'orders-1 127.0.0.1:8081 passing',
    'orders-2 127.0.0.1:8082 passing',
    'next: orders-1, then orders-2',
  ]);
});

test('the README shows the example file verbatim', async () => {
  const [source, text] = await Promise.all([readFile(example, 'utf8'), readFile(readme, 'utf8')]);
  assert.ok(text.includes(source.trim()), 'README.md must embed examples/quickstart.ts unchanged');
});
