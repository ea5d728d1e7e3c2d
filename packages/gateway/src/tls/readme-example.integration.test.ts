import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestPki, type Pair, type TestPki } from './fixtures.test.ts';

const run = promisify(execFile);
const example = fileURLToPath(new URL('../../examples/tls.ts', import.meta.url));

let pki: TestPki;
let server: Pair;
before(() => {
  pki = createTestPki('ca');
  server = pki.leaf('server', ['DNS:localhost', 'IP:127.0.0.1']);
});
after(() => pki.remove());

test('the README TLS example runs: HTTP/2 over TLS, 308 from plain HTTP, HSTS', async (t) => {
  const child = spawn(process.execPath, ['--conditions=@switchyard/source', example], {
    env: { ...process.env, HTTPS_PORT: '0', HTTP_PORT: '0', TLS_CERT: server.cert, TLS_KEY: server.key },
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
  const urls = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" lines within 10s; stderr: ${stderr}`)), 10_000);
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
      const found = [...stdout.matchAll(/gateway listening on (https?:\/\/\S+)/g)].map((m) => m[1] ?? '');
      if (found.length === 2) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void exited.then(() => reject(new Error(`the example exited early; stderr: ${stderr}`)));
  });
  const [https, http] = urls as [string, string];
  assert.match(https, /^https:/);
  const httpsPort = new URL(https).port;
  const { stdout } = await run('curl', [
    '-sS',
    '--http2',
    '--max-time',
    '5',
    '--cacert',
    pki.ca,
    '-D',
    '-',
    `https://localhost:${httpsPort}/api/hello`,
  ]);
  assert.match(stdout, /^HTTP\/2 200/);
  assert.match(stdout, /strict-transport-security: max-age=31536000/);
  assert.match(stdout, /"url":"\/hello","proto":"https","host":"localhost:\d+"/);
  const redirect = await fetch(`${http}/api/hello?x=1`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get('location'), `https://127.0.0.1:${httpsPort}/api/hello?x=1`);
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0, stderr);
});
