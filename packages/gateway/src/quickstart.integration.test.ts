import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const example = fileURLToPath(new URL('../examples/quickstart.ts', import.meta.url));

test('the README quickstart runs: it proxies with round robin, answers JSON errors and stops on SIGTERM', async (t) => {
  const child = spawn(process.execPath, ['--conditions=@switchyard/source', example], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const exited = once(child, 'exit');

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 10s; stderr: ${stderr}`)), 10_000);
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
      const match = /gateway listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then(() => reject(new Error(`the example exited early; stderr: ${stderr}`)));
  });

  const signal = AbortSignal.timeout(5_000);
  const first = (await (await fetch(`${url}/api/orders/12?x=1`, { signal })).json()) as Record<string, string>;
  const second = (await (await fetch(`${url}/api/orders/12?x=1`, { signal })).json()) as Record<string, string>;
  assert.equal(first.url, '/12?x=1');
  assert.deepEqual([first.upstream, second.upstream].sort(), ['orders-1', 'orders-2']);
  const missing = await fetch(`${url}/nope`, { signal });
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'SY_GATEWAY_ROUTE_NOT_FOUND');

  child.kill('SIGTERM');
  const deadline = setTimeout(() => child.kill('SIGKILL'), 5_000);
  const [code, killedBy] = await exited;
  clearTimeout(deadline);
  assert.equal(killedBy, null, `the example did not exit on SIGTERM; stderr: ${stderr}`);
  assert.equal(code, 0);
});
