import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { gatewayError } from './errors.ts';
import {
  closedPort,
  errorOf,
  instanceAt,
  send,
  startGateway,
  startRawUpstream,
  startUpstream,
  staticSource,
} from './fixtures.test.ts';
import { createGateway } from './gateway.ts';
import { createGatewayHandler } from './handler.ts';
import type { GatewayMiddleware } from './middleware.ts';
import type { InstanceSource } from './ports.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('gateway failure paths', () => {
  test('an unknown path is a JSON 404 with the request id', async (t) => {
    const gateway = await startGateway(t, { routes: [{ path: '/api/orders', service: 'orders' }] }, staticSource({}));
    const response = await send(gateway.url, '/nope?x=1', { headers: { 'x-request-id': 'req-404' } });
    assert.equal(response.status, 404);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.equal(response.headers['x-request-id'], 'req-404');
    assert.deepEqual(errorOf(response), {
      code: 'SY_GATEWAY_ROUTE_NOT_FOUND',
      message: 'no route for GET /nope',
      requestId: 'req-404',
    });
    const sibling = await send(gateway.url, '/api/ordersX');
    assert.equal(sibling.status, 404, 'a prefix matches whole segments only');
  });

  test('a traversal or encoded slash is a JSON 400 and never reaches an upstream', async (t) => {
    const orders = await startUpstream(t, 'orders');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api/orders', service: 'orders' }] },
      staticSource({ orders: [orders.instance('orders')] }),
    );
    for (const path of ['/api/orders/%2e%2e/admin', '/api/orders/a%2Fb', '/api/orders/%zz', '/api/../../etc']) {
      const response = await send(gateway.url, path);
      assert.equal(response.status, 400, path);
      assert.equal(errorOf(response).code, 'SY_GATEWAY_BAD_PATH', path);
      assert.match(errorOf(response).requestId, uuid);
    }
    const escaped = await send(gateway.url, '/api/orders/../admin');
    assert.equal(escaped.status, 404, 'resolved to /api/admin, outside the route');
    assert.equal(errorOf(escaped).message, 'no route for GET /api/admin');
    assert.equal(orders.seen.length, 0);
  });

  test('no instance is a JSON 503 with Retry-After: 1', async (t) => {
    const gateway = await startGateway(t, { routes: [{ path: '/api/orders', service: 'orders' }] }, staticSource({}));
    const response = await send(gateway.url, '/api/orders/1');
    assert.equal(response.status, 503);
    assert.equal(response.headers['retry-after'], '1');
    assert.equal(errorOf(response).code, 'SY_GATEWAY_NO_HEALTHY_INSTANCE');
    assert.equal(errorOf(response).message, 'no healthy instance of service "orders" for route /api/orders');
  });

  test('critical instances are skipped; a failing instance source is a JSON 503', async (t) => {
    const failing: InstanceSource = {
      instances: async (service) => {
        if (service === 'broken') throw new Error('registry unreachable');
        return [{ ...instanceAt(service, await closedPort()), status: 'critical' }];
      },
    };
    const gateway = await startGateway(
      t,
      {
        routes: [
          { path: '/broken', service: 'broken' },
          { path: '/sick', service: 'sick' },
        ],
      },
      failing,
    );
    const broken = await send(gateway.url, '/broken');
    assert.equal(broken.status, 503);
    assert.equal(broken.headers['retry-after'], '1');
    assert.equal(errorOf(broken).code, 'SY_GATEWAY_DISCOVERY_FAILED');
    assert.match(errorOf(broken).message, /service "broken".*registry unreachable/);
    const sick = await send(gateway.url, '/sick');
    assert.equal(errorOf(sick).code, 'SY_GATEWAY_NO_HEALTHY_INSTANCE');
  });

  test('a request with a body to an instance on a closed port is a JSON 502, not retried', async (t) => {
    const live = await startUpstream(t, 'live');
    const port = await closedPort();
    const warnings: string[] = [];
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api/orders', service: 'orders' }] },
      staticSource({ orders: [instanceAt('orders', port, 'orders-dead'), live.instance('orders')] }),
      { logger: { info() {}, warn: (_obj, msg) => warnings.push(msg), error() {} } },
    );
    const response = await send(gateway.url, '/api/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"item":"book"}',
    });
    assert.equal(response.status, 502);
    const error = errorOf(response);
    assert.equal(error.code, 'SY_GATEWAY_UPSTREAM_FAILED');
    assert.equal(
      error.message,
      `could not connect to upstream orders (127.0.0.1:${port}): connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    assert.equal(response.headers['x-request-id'], error.requestId);
    assert.equal(live.seen.length, 0, 'a request with a body is never resent');
    assert.deepEqual(warnings, [error.message]);
  });

  test('a bodyless request is retried once on another instance when the first refuses the connection', async (t) => {
    const live = await startUpstream(t, 'live');
    const port = await closedPort();
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api/orders', service: 'orders' }] },
      staticSource({ orders: [instanceAt('orders', port, 'orders-dead'), live.instance('orders')] }),
    );
    const response = await send(gateway.url, '/api/orders/7', { method: 'DELETE' });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-upstream'], 'live');
    assert.equal(live.seen.length, 1);
    assert.equal(live.seen[0]?.url, '/7');

    const alone = await startGateway(
      t,
      { routes: [{ path: '/api/orders', service: 'orders' }] },
      staticSource({ orders: [instanceAt('orders', port, 'orders-dead')] }),
    );
    const failed = await send(alone.url, '/api/orders/7');
    assert.equal(failed.status, 502, 'with no other instance the failure stands');
  });

  test('an upstream that holds its headers past the route timeout is a JSON 504', async (t) => {
    const held = await startRawUpstream(t, () => {
      // Never answers; the gateway's timeout must end the exchange.
    });
    const gateway = await startGateway(
      t,
      { timeout: '10s', routes: [{ path: '/slow', service: 'slow', timeout: '200ms' }] },
      staticSource({ slow: [instanceAt('slow', held.port, 'slow-1')] }),
    );
    const response = await send(gateway.url, '/slow');
    assert.equal(response.status, 504);
    assert.equal(errorOf(response).code, 'SY_GATEWAY_UPSTREAM_TIMEOUT');
    assert.equal(errorOf(response).message, `upstream slow (127.0.0.1:${held.port}) did not send headers within 200ms`);
  });

  test('an upstream that stalls after the headers gets the client connection destroyed', async (t) => {
    const stalled = await startRawUpstream(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
    });
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/stall', service: 'stall', timeout: '200ms' }] },
      staticSource({ stall: [instanceAt('stall', stalled.port)] }),
    );
    await assert.rejects(send(gateway.url, '/stall'), (err: NodeJS.ErrnoException) => {
      assert.ok(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE'].includes(err.code ?? ''), String(err.code));
      return true;
    });
  });

  test('a client that disconnects aborts the upstream request', async (t) => {
    let upstreamClosed: Promise<unknown> | undefined;
    const arrived = Promise.withResolvers<void>();
    const held = await startRawUpstream(t, (req) => {
      upstreamClosed = once(req.socket, 'close');
      arrived.resolve();
    });
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/hold', service: 'hold' }] },
      staticSource({ hold: [instanceAt('hold', held.port)] }),
    );
    const controller = new AbortController();
    const pending = fetch(`${gateway.url}/hold`, { signal: controller.signal });
    await arrived.promise;
    controller.abort();
    await assert.rejects(pending);
    await Promise.race([upstreamClosed, deadline(5_000, 'upstream connection was not closed')]);
  });

  test('requests Node cannot parse get a JSON 400 or 431 too', async (t) => {
    const gateway = await startGateway(t, { routes: [] }, staticSource({}));
    const malformed = await rawExchange(gateway.port, 'GET /a HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n');
    assert.match(malformed, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(malformed, /\r\ncontent-type: application\/json\r\n/);
    assert.match(
      malformed,
      /"code":"SY_GATEWAY_BAD_REQUEST","message":"malformed HTTP request \(HPE_INVALID_HEADER_TOKEN\)"/,
    );
    const huge = await rawExchange(gateway.port, `GET /a HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.match(huge, /"code":"SY_GATEWAY_HEADERS_TOO_LARGE"/);
  });

  test('listening on a port in use fails with SY_GATEWAY_LISTEN_FAILED', async (t) => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    t.after(() => new Promise((resolve) => taken.close(resolve)));
    const port = (taken.address() as AddressInfo).port;
    await assert.rejects(
      createGateway({ options: { host: '127.0.0.1', port, routes: [] }, discovery: staticSource({}) }),
      (err) => isSwitchyardError(err, 'SY_GATEWAY_LISTEN_FAILED') && /EADDRINUSE/.test(err.message),
    );
  });
});

describe('gateway forwarding', () => {
  test('GET and POST pass through with query, body and the route prefix stripped', async (t) => {
    const orders = await startUpstream(t, 'orders');
    const gateway = await startGateway(
      t,
      {
        routes: [
          { path: '/api/orders', service: 'orders' },
          { path: '/keep', service: 'orders', stripPrefix: false },
        ],
      },
      staticSource({ orders: [orders.instance('orders')] }),
    );
    const get = await send(gateway.url, '/api/orders/12?x=1&y=%2F');
    assert.equal(get.status, 200);
    assert.deepEqual(JSON.parse(get.body), { upstream: 'orders', method: 'GET', url: '/12?x=1&y=%2F', body: '' });

    const root = await send(gateway.url, '/api/orders');
    assert.equal(JSON.parse(root.body).url, '/');

    const post = await send(gateway.url, '/api/orders?source=web', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"item":"book"}',
    });
    assert.deepEqual(JSON.parse(post.body), {
      upstream: 'orders',
      method: 'POST',
      url: '/?source=web',
      body: '{"item":"book"}',
    });
    assert.equal(orders.seen.at(-1)?.headers['content-length'], '15');

    const kept = await send(gateway.url, '/keep//a/./b?q');
    assert.equal(JSON.parse(kept.body).url, '/keep/a/b?q', 'normalised, prefix kept');
  });

  test('hop-by-hop headers are removed both ways; forwarding headers, request id and Via are set', async (t) => {
    const orders = await startUpstream(t, 'orders', (_req, res) => {
      res.writeHead(200, {
        connection: 'x-upstream-hop',
        'x-upstream-hop': 'secret',
        'keep-alive': 'timeout=99',
        'proxy-authenticate': 'Basic',
        'x-request-id': 'upstream-made-this-up',
        via: '1.1 backend',
        'content-type': 'text/plain',
      });
      res.end('ok');
    });
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'orders' }] },
      staticSource({ orders: [orders.instance('orders')] }),
    );
    const response = await send(gateway.url, '/api/x', {
      headers: {
        host: 'shop.example',
        connection: 'keep-alive, x-client-hop',
        'x-client-hop': 'secret',
        'proxy-authorization': 'Basic abc',
        te: 'trailers',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        forwarded: 'for=6.6.6.6',
        'x-request-id': 'client-id-1',
        'x-kept': 'yes',
      },
    });
    assert.equal(response.status, 200);
    const seen = orders.seen[0];
    assert.ok(seen);
    for (const name of ['x-client-hop', 'proxy-authorization', 'te', 'forwarded', 'keep-alive', 'upgrade']) {
      assert.equal(seen.headers[name], undefined, `request header ${name} must not reach the upstream`);
    }
    assert.equal(seen.headers['x-kept'], 'yes');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'an untrusted chain is replaced');
    assert.equal(seen.headers['x-forwarded-host'], 'shop.example');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-request-id'], 'client-id-1');
    assert.equal(seen.headers.via, '1.1 switchyard');
    assert.equal(seen.headers.host, `127.0.0.1:${orders.port}`);

    for (const name of ['x-upstream-hop', 'proxy-authenticate']) {
      assert.equal(response.headers[name], undefined, `response header ${name} must not reach the client`);
    }
    assert.notEqual(
      response.headers['keep-alive'],
      'timeout=99',
      "the upstream's Keep-Alive must not reach the client",
    );
    assert.equal(response.headers['x-request-id'], 'client-id-1');
    assert.equal(response.headers.via, '1.1 backend, 1.1 switchyard');
    assert.equal(response.body, 'ok');

    const generated = await send(gateway.url, '/api/x', { headers: { 'x-request-id': 'x'.repeat(129) } });
    assert.match(String(generated.headers['x-request-id']), uuid, 'an oversized id is replaced');
    assert.equal(orders.seen[1]?.headers['x-request-id'], generated.headers['x-request-id']);
  });

  test('a trusted proxy keeps its X-Forwarded-* chain', async (t) => {
    const orders = await startUpstream(t, 'orders');
    const gateway = await startGateway(
      t,
      { trustedProxies: ['127.0.0.0/8'], routes: [{ path: '/api', service: 'orders' }] },
      staticSource({ orders: [orders.instance('orders')] }),
    );
    await send(gateway.url, '/api', {
      headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' },
    });
    const headers = orders.seen[0]?.headers;
    assert.equal(headers?.['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(headers?.['x-forwarded-proto'], 'https');
    assert.equal(headers?.['x-forwarded-host'], 'shop.example');
  });

  test('round robin alternates between two instances', async (t) => {
    const a = await startUpstream(t, 'a');
    const b = await startUpstream(t, 'b');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'svc' }] },
      staticSource({ svc: [a.instance('svc'), b.instance('svc')] }),
    );
    const served: string[] = [];
    for (let i = 0; i < 4; i++) served.push(String((await send(gateway.url, '/api')).headers['x-upstream']));
    assert.deepEqual(served, ['a', 'b', 'a', 'b']);
  });

  test('the most specific route wins and params do not leak into the upstream path', async (t) => {
    const general = await startUpstream(t, 'general');
    const special = await startUpstream(t, 'special');
    const gateway = await startGateway(
      t,
      {
        routes: [
          { path: '/api', service: 'general' },
          { path: '/api/orders/:id/items', service: 'special', methods: ['GET'] },
        ],
      },
      staticSource({ general: [general.instance('general')], special: [special.instance('special')] }),
    );
    const specific = await send(gateway.url, '/api/orders/12/items/3');
    assert.equal(specific.headers['x-upstream'], 'special');
    assert.equal(JSON.parse(specific.body).url, '/3');
    const other = await send(gateway.url, '/api/orders/12/items/3', { method: 'PUT' });
    assert.equal(other.headers['x-upstream'], 'general');
    assert.equal(JSON.parse(other.body).url, '/orders/12/items/3');
  });

  test('HEAD is forwarded and answered without a body', async (t) => {
    const orders = await startUpstream(t, 'orders', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11', 'x-method': String(req.method) });
      res.end(req.method === 'HEAD' ? undefined : 'hello world');
    });
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'orders', methods: ['GET'] }] },
      staticSource({ orders: [orders.instance('orders')] }),
    );
    const head = await send(gateway.url, '/api/file', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['x-method'], 'HEAD');
    assert.equal(head.headers['content-length'], '11');
    assert.equal(head.body, '');
    const missing = await send(gateway.url, '/nope', { method: 'HEAD' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body, '');
  });

  test('middleware wraps the proxy and its errors render as JSON', async (t) => {
    const orders = await startUpstream(t, 'orders');
    const stamp: GatewayMiddleware = (next) => async (ctx) => {
      ctx.res.setHeader('x-route', ctx.route.name);
      await next(ctx);
    };
    const guard: GatewayMiddleware = (next) => async (ctx) => {
      if (ctx.params.id === 'forbidden') throw gatewayError('SY_GATEWAY_BAD_PATH', 'that id is not allowed here');
      await next(ctx);
    };
    const gateway = await startGateway(
      t,
      { routes: [{ name: 'order', path: '/orders/:id', service: 'orders' }] },
      staticSource({ orders: [orders.instance('orders')] }),
      { middleware: [stamp, guard] },
    );
    const ok = await send(gateway.url, '/orders/1');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-route'], 'order');
    const blocked = await send(gateway.url, '/orders/forbidden');
    assert.equal(blocked.status, 400);
    assert.equal(errorOf(blocked).message, 'that id is not allowed here');
    assert.equal(orders.seen.length, 1);
  });
});

describe('gateway lifecycle', () => {
  test('close lets an in-flight request finish, then refuses connections; it is idempotent', async (t) => {
    const arrived = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    const slow = await startRawUpstream(t, (_req, res) => {
      arrived.resolve();
      void release.promise.then(() => res.end('finished'));
    });
    const gateway = await createGateway({
      options: { host: '127.0.0.1', port: 0, routes: [{ path: '/', service: 'slow' }] },
      discovery: staticSource({ slow: [instanceAt('slow', slow.port)] }),
    });
    const pending = send(gateway.url, '/work');
    await arrived.promise;
    const closing = gateway.close();
    assert.equal(gateway.close(), closing);
    release.resolve();
    const response = await pending;
    assert.equal(response.status, 200);
    assert.equal(response.body, 'finished');
    assert.equal(response.headers.connection, 'close');
    await closing;
    await assert.rejects(send(gateway.url, '/work'), { code: 'ECONNREFUSED' });
  });

  test('the handler embeds in any node:http server and answers 503 once closed', async (t) => {
    const orders = await startUpstream(t, 'orders');
    const handler = createGatewayHandler({
      options: { routes: [{ path: '/api', service: 'orders' }] },
      discovery: staticSource({ orders: [orders.instance('orders')] }),
    });
    const server = createServer(handler.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.equal((await send(url, '/api/x')).status, 200);
    assert.equal(handler.inFlight, 0);
    await handler.close();
    const refused = await send(url, '/api/x');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(errorOf(refused).code, 'SY_GATEWAY_SHUTTING_DOWN');
  });

  test('close cuts requests still running after shutdownTimeout', async (t) => {
    const arrived = Promise.withResolvers<void>();
    const held = await startRawUpstream(t, () => arrived.resolve());
    const gateway = await createGateway({
      options: { host: '127.0.0.1', port: 0, shutdownTimeout: '100ms', routes: [{ path: '/', service: 'held' }] },
      discovery: staticSource({ held: [instanceAt('held', held.port)] }),
    });
    const outcome = assert.rejects(send(gateway.url, '/'), { code: 'ECONNRESET' });
    await arrived.promise;
    await gateway.close();
    await outcome;
  });
});

/** Writes raw bytes to the gateway and returns everything it sends back until it closes. */
async function rawExchange(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5s')));
  socket.on('error', () => {});
  let received = '';
  socket.on('data', (data: Buffer) => {
    received += data.toString('latin1');
  });
  socket.end(request);
  await once(socket, 'close');
  return received;
}

function deadline(ms: number, message: string): Promise<never> {
  return new Promise((_resolve, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}
