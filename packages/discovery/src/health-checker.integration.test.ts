import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { httpCheck, tcpCheck } from './health-checker.ts';
import { closedPort, closeServer, listen, waitForRegistry } from './internal/test-helpers.ts';
import { createRegistry } from './registry.ts';
import type { CheckProbe } from './types.ts';

function httpProbe(target: string, overrides: Partial<CheckProbe> = {}): CheckProbe {
  return { type: 'http', target, method: 'GET', headers: {}, timeoutMs: 2000, ...overrides };
}

const never = new AbortController().signal;

describe('httpCheck', () => {
  test('a closed port is critical, saying the connection was refused', async () => {
    const port = await closedPort();
    const result = await httpCheck(httpProbe(`http://127.0.0.1:${port}/health`), never);
    assert.equal(result.status, 'critical');
    assert.match(result.output, new RegExp(`^HTTP GET http://127.0.0.1:${port}/health: .*ECONNREFUSED`));
  });

  test('an upstream slower than Timeout is critical', async (t) => {
    const { server, url } = await listen(() => {
      // Never answers.
    });
    t.after(() => closeServer(server));
    const result = await httpCheck(httpProbe(`${url}/slow`, { timeoutMs: 150 }), never);
    assert.equal(result.status, 'critical');
    assert.equal(result.output, `HTTP GET ${url}/slow: timed out after 150ms`);
  });

  test('429 is warning, 500 and 302 are critical, 2xx is passing with the body as output', async (t) => {
    const { server, url } = await listen((req, res) => {
      const status = Number(req.url?.slice(1));
      res.writeHead(status, status === 302 ? { location: '/200' } : {});
      res.end(status === 200 ? 'all good' : 'nope');
    });
    t.after(() => closeServer(server));
    const statusOf = async (code: number) => (await httpCheck(httpProbe(`${url}/${code}`), never)).status;
    assert.equal(await statusOf(429), 'warning');
    assert.equal(await statusOf(500), 'critical');
    assert.equal(await statusOf(302), 'critical');
    assert.equal(await statusOf(204), 'passing');
    const ok = await httpCheck(httpProbe(`${url}/200`), never);
    assert.deepEqual(ok, { status: 'passing', output: `HTTP GET ${url}/200: 200 OK Output: all good` });
  });

  test('Method, Header and Body are sent; the output keeps at most 4 KiB of body', async (t) => {
    let seen: { method: string | undefined; header: string | string[] | undefined; body: string } | undefined;
    const { server, url } = await listen((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        seen = { method: req.method, header: req.headers['x-probe'], body };
        res.end('x'.repeat(10_000));
      });
    });
    t.after(() => closeServer(server));
    const result = await httpCheck(
      httpProbe(`${url}/health`, { method: 'POST', headers: { 'X-Probe': ['a', 'b'] }, body: 'ping' }),
      never,
    );
    assert.equal(result.status, 'passing');
    assert.deepEqual(seen, { method: 'POST', header: 'a, b', body: 'ping' });
    assert.equal(result.output.length, `HTTP POST ${url}/health: 200 OK Output: `.length + 4096);
  });
});

describe('tcpCheck', () => {
  test('a closed port is critical; a listening one is passing', async (t) => {
    const port = await closedPort();
    const refused = await tcpCheck({ ...httpProbe(''), type: 'tcp', target: `127.0.0.1:${port}` }, never);
    assert.equal(refused.status, 'critical');
    assert.match(refused.output, /ECONNREFUSED/);

    const open = await listen((_req, res) => res.end());
    t.after(() => closeServer(open.server));
    const ok = await tcpCheck({ ...httpProbe(''), type: 'tcp', target: `127.0.0.1:${open.port}` }, never);
    assert.deepEqual(ok, { status: 'passing', output: `TCP connect 127.0.0.1:${open.port}: Success` });
  });
});

describe('HTTP checks inside the registry', () => {
  const registry = createRegistry();
  after(() => registry.close());

  test('passing while the upstream answers 200, critical on 503 and once it is closed', async (t) => {
    let healthy = true;
    const upstream = await listen((_req, res) => {
      res.statusCode = healthy ? 200 : 503;
      res.end(healthy ? 'ok' : 'draining');
    });
    t.after(() => closeServer(upstream.server));
    registry.register({
      Name: 'orders',
      ID: 'orders-1',
      Port: upstream.port,
      Check: { HTTP: `${upstream.url}/health`, Interval: '50ms', Timeout: '1s' },
    });
    const status = () => registry.check('service:orders-1')?.Status;
    const output = () => registry.check('service:orders-1')?.Output ?? '';
    assert.equal(status(), 'critical', 'a new check starts critical');
    await waitForRegistry(registry, () => status() === 'passing', 'passing after a 200');
    assert.match(output(), /: 200 OK Output: ok$/);

    healthy = false;
    await waitForRegistry(registry, () => status() === 'critical', 'critical after a 503');
    assert.match(output(), /: 503 Service Unavailable Output: draining$/);

    healthy = true;
    await waitForRegistry(registry, () => status() === 'passing', 'passing again');

    await closeServer(upstream.server);
    await waitForRegistry(registry, () => status() === 'critical', 'critical after the upstream closed');
    assert.match(output(), /ECONNREFUSED/);
    assert.equal(registry.deregister('orders-1'), true);
  });
});
