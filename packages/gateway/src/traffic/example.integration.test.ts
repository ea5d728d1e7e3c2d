import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const example = fileURLToPath(new URL('../../examples/versions.ts', import.meta.url));

test('the README versions example runs: header, cookie and path pick v2, sticky users keep their version', async (t) => {
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
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}${path}`, { headers, signal });
    const body = (await response.json()) as { version: string; url: string };
    return { body, subset: response.headers.get('x-switchyard-subset') };
  };
  const byHeader = await get('/api/orders/12', { 'x-api-version': '2' });
  assert.deepEqual([byHeader.body.version, byHeader.subset], ['v2', 'v2']);
  assert.equal((await get('/api/orders/12', { cookie: 'beta=yes' })).body.version, 'v2');
  const pinned = await get('/v2/orders/12');
  assert.deepEqual([pinned.body.version, pinned.body.url], ['v2', '/12']);
  for (const user of ['alice', 'bob', 'carol']) {
    const first = (await get('/api/orders/1', { 'x-user-id': user })).body.version;
    for (let i = 0; i < 5; i++) assert.equal((await get('/api/orders/1', { 'x-user-id': user })).body.version, first);
  }

  child.kill('SIGTERM');
  const deadline = setTimeout(() => child.kill('SIGKILL'), 5_000);
  const [code, killedBy] = await exited;
  clearTimeout(deadline);
  assert.equal(killedBy, null, `the example did not exit on SIGTERM; stderr: ${stderr}`);
  assert.equal(code, 0);
});
