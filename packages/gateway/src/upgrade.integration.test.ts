import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { gatewayError } from './errors.ts';
import { closedPort, instanceAt, startGateway, startUpstream, staticSource } from './fixtures.test.ts';
import type { GatewayMiddleware } from './middleware.ts';

/** A WebSocket echo server on 127.0.0.1:0 that records each upgrade request it accepted. */
async function startWsUpstream(t: TestContext) {
  const seen: IncomingMessage[] = [];
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket, req) => {
    seen.push(req);
    socket.on('message', (data, binary) => {
      if (data.toString() === 'close-please') socket.close(4001, 'asked to');
      else socket.send(data, { binary });
    });
  });
  await once(server, 'listening');
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  );
  return { server, seen, port: (server.address() as AddressInfo).port };
}

/** Opens a WebSocket, resolving once open or rejecting with the HTTP answer that refused it. */
function openSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers, handshakeTimeout: 5_000 });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        reject(
          Object.assign(new Error(`refused with ${res.statusCode}`), {
            status: res.statusCode,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        ),
      );
    });
    socket.once('error', reject);
  });
}

interface Refusal {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

async function refusalOf(promise: Promise<WebSocket>): Promise<Refusal> {
  try {
    const socket = await promise;
    socket.terminate();
  } catch (err) {
    if (typeof (err as Refusal).status === 'number') return err as Refusal;
    throw err;
  }
  assert.fail('the upgrade was accepted');
}

function nextMessage(socket: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message within 5 s')), 5_000);
    socket.once('message', (data) => {
      clearTimeout(timer);
      resolve(data.toString());
    });
  });
}

function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the socket did not close within 5 s')), 5_000);
    socket.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

const requireToken: GatewayMiddleware = (next) => async (ctx) => {
  if (ctx.req.headers['x-token'] !== 'let-me-in') {
    throw gatewayError('SY_GATEWAY_UNAUTHENTICATED', 'the request carries no x-token');
  }
  await next(ctx);
};

describe('WebSocket upgrades', () => {
  test('messages round-trip through the gateway with forwarding headers and the prefix stripped', async (t) => {
    const upstream = await startWsUpstream(t);
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/ws', service: 'chat' }] },
      staticSource({ chat: [instanceAt('chat', upstream.port)] }),
    );
    const socket = await openSocket(`${gateway.url.replace('http', 'ws')}/ws/room/1?user=ann`, {
      'x-request-id': 'ws-req-1',
      'x-forwarded-for': '6.6.6.6',
    });
    t.after(() => socket.terminate());
    socket.send('hello');
    assert.equal(await nextMessage(socket), 'hello');
    socket.send(Buffer.from([1, 2, 3]));
    assert.equal(await nextMessage(socket), '\u0001\u0002\u0003');

    const seen = upstream.seen[0];
    assert.ok(seen);
    assert.equal(seen.url, '/room/1?user=ann');
    assert.equal(seen.headers['x-request-id'], 'ws-req-1');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'an untrusted chain is replaced');
    assert.equal(seen.headers.via, '1.1 switchyard');
    assert.match(String(seen.headers.connection), /upgrade/i);
    assert.equal(seen.headers.upgrade, 'websocket');
  });

  test('route middleware can refuse an upgrade with its JSON error; the upstream sees nothing', async (t) => {
    const upstream = await startWsUpstream(t);
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/ws', service: 'chat' }] },
      staticSource({ chat: [instanceAt('chat', upstream.port)] }),
      { middleware: [requireToken] },
    );
    const url = `${gateway.url.replace('http', 'ws')}/ws`;
    const refused = await refusalOf(openSocket(url, { 'x-request-id': 'ws-401' }));
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['content-type'], 'application/json');
    assert.equal(refused.headers.connection, 'close');
    assert.deepEqual(JSON.parse(refused.body), {
      error: { code: 'SY_GATEWAY_UNAUTHENTICATED', message: 'the request carries no x-token', requestId: 'ws-401' },
    });
    assert.equal(upstream.seen.length, 0);

    const allowed = await openSocket(url, { 'x-token': 'let-me-in' });
    t.after(() => allowed.terminate());
    allowed.send('in');
    assert.equal(await nextMessage(allowed), 'in');
  });

  test('an unknown path is a 404 and a route without GET refuses the upgrade like HTTP', async (t) => {
    const upstream = await startWsUpstream(t);
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/ws', service: 'chat', methods: ['POST'] }] },
      staticSource({ chat: [instanceAt('chat', upstream.port)] }),
    );
    const base = gateway.url.replace('http', 'ws');
    const missing = await refusalOf(openSocket(`${base}/nope`));
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).error.code, 'SY_GATEWAY_ROUTE_NOT_FOUND');
    const wrongMethod = await refusalOf(openSocket(`${base}/ws`));
    assert.ok([404, 405].includes(wrongMethod.status), `got ${wrongMethod.status}`);
    assert.equal(upstream.seen.length, 0);
  });

  test('an unreachable upstream is a JSON 502; no instance is a 503', async (t) => {
    const gateway = await startGateway(
      t,
      {
        routes: [
          { path: '/down', service: 'down' },
          { path: '/none', service: 'none' },
        ],
      },
      staticSource({ down: [instanceAt('down', await closedPort())] }),
    );
    const base = gateway.url.replace('http', 'ws');
    const down = await refusalOf(openSocket(`${base}/down`));
    assert.equal(down.status, 502);
    assert.equal(JSON.parse(down.body).error.code, 'SY_GATEWAY_UPSTREAM_FAILED');
    assert.match(JSON.parse(down.body).error.message, /could not connect to upstream down/);
    const none = await refusalOf(openSocket(`${base}/none`));
    assert.equal(none.status, 503);
    assert.equal(JSON.parse(none.body).error.code, 'SY_GATEWAY_NO_HEALTHY_INSTANCE');
  });

  test('an instance refusing the connection is skipped for another one', async (t) => {
    const upstream = await startWsUpstream(t);
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/ws', service: 'chat', balancer: 'round_robin' }] },
      staticSource({
        chat: [instanceAt('chat', await closedPort(), 'dead'), instanceAt('chat', upstream.port, 'live')],
      }),
    );
    for (let i = 0; i < 2; i++) {
      const socket = await openSocket(`${gateway.url.replace('http', 'ws')}/ws`);
      socket.send(`try ${i}`);
      assert.equal(await nextMessage(socket), `try ${i}`);
      socket.terminate();
    }
    assert.equal(upstream.seen.length, 2);
  });

  test("a tunnel outlives the server's header, request and keep-alive timeouts", async (t) => {
    const upstream = await startWsUpstream(t);
    const gateway = await startGateway(
      t,
      {
        server: { headersTimeout: '100ms', requestTimeout: '150ms', keepAliveTimeout: '100ms' },
        routes: [{ path: '/ws', service: 'chat' }],
      },
      staticSource({ chat: [instanceAt('chat', upstream.port)] }),
    );
    const socket = await openSocket(`${gateway.url.replace('http', 'ws')}/ws`);
    t.after(() => socket.terminate());
    await new Promise((resolve) => setTimeout(resolve, 600));
    socket.send('still here');
    assert.equal(await nextMessage(socket), 'still here');
  });

  test('an upstream that declines the upgrade has its answer relayed', async (t) => {
    const upstream = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (_info, done) => done(false, 403, 'no chat today', { 'x-reason': 'closed' }),
    });
    await once(upstream, 'listening');
    t.after(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/ws', service: 'chat' }] },
      staticSource({ chat: [instanceAt('chat', (upstream.address() as AddressInfo).port)] }),
    );
    const refused = await refusalOf(openSocket(`${gateway.url.replace('http', 'ws')}/ws`));
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['x-reason'], 'closed');
    assert.equal(refused.headers.via, '1.1 switchyard');
    assert.match(refused.body, /no chat today/);
  });

  test('the upstream closing the WebSocket closes the client; the client closing closes the upstream', async (t) => {
    const upstream = await startWsUpstream(t);
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/ws', service: 'chat' }] },
      staticSource({ chat: [instanceAt('chat', upstream.port)] }),
    );
    const url = `${gateway.url.replace('http', 'ws')}/ws`;
    const first = await openSocket(url);
    const firstClosed = closed(first);
    first.send('close-please');
    assert.deepEqual(await firstClosed, { code: 4001, reason: 'asked to' });

    const second = await openSocket(url);
    const [serverSide] = [...upstream.server.clients].filter((c) => c.readyState === WebSocket.OPEN);
    assert.ok(serverSide);
    const serverClosed = closed(serverSide);
    second.terminate(); // a TCP close, no close frame: the gateway must close the upstream socket
    const { code } = await serverClosed;
    assert.equal(code, 1006);
  });

  test('an open tunnel counts as in flight and is cut when shutdownTimeout runs out', async (t) => {
    const upstream = await startWsUpstream(t);
    const gateway = await startGateway(
      t,
      { shutdownTimeout: '200ms', routes: [{ path: '/ws', service: 'chat' }] },
      staticSource({ chat: [instanceAt('chat', upstream.port)] }),
    );
    const socket = await openSocket(`${gateway.url.replace('http', 'ws')}/ws`);
    const socketClosed = closed(socket);
    const started = Date.now();
    await gateway.close();
    assert.ok(Date.now() - started >= 150, 'close waited for the tunnel');
    assert.equal((await socketClosed).code, 1006);
  });

  test('an upgrade other than websocket is served as plain HTTP, the Upgrade ignored', async (t) => {
    const plain = await startUpstream(t, 'plain');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'plain' }] },
      staticSource({ plain: [plain.instance('plain')] }),
    );
    const socket = connect(gateway.port, '127.0.0.1');
    t.after(() => socket.destroy());
    socket.write('GET /api/x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    let answer = '';
    socket.setEncoding('utf8');
    for await (const chunk of socket) {
      answer += chunk;
      if (answer.includes('"upstream":"plain"')) break;
    }
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(plain.seen[0]?.headers.upgrade, undefined, 'Upgrade is hop-by-hop and not forwarded');
  });
});
