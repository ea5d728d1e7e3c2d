import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { gatewayError } from './errors.ts';
import {
  instanceAt,
  rawConnection,
  send,
  startGateway,
  startRawUpstream,
  startUpstream,
  staticSource,
} from './fixtures.test.ts';
import type { GatewayMiddleware } from './middleware.ts';

const requireToken: GatewayMiddleware = (next) => async (ctx) => {
  if (ctx.req.headers['x-token'] !== 'ok') throw gatewayError('SY_GATEWAY_UNAUTHENTICATED', 'no x-token');
  await next(ctx);
};

const limitBody =
  (bytes: number): GatewayMiddleware =>
  (next) =>
  async (ctx) => {
    ctx.bodyLimit = bytes;
    await next(ctx);
  };

function chunk(size: number, fill = 'a'): string {
  return `${size.toString(16)}\r\n${fill.repeat(size)}\r\n`;
}

describe('Expect: 100-continue', () => {
  test('an admitted request gets 100 Continue before the body is sent, then the upstream answer', async (t) => {
    const orders = await startUpstream(t, 'orders');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'orders' }] },
      staticSource({ orders: [orders.instance('orders')] }),
      { middleware: [requireToken] },
    );
    const conn = await rawConnection(t, gateway.port);
    conn.write('POST /api/x HTTP/1.1\r\nHost: a\r\nX-Token: ok\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await conn.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    assert.equal(orders.seen.length, 0, 'the body has not been sent yet');
    conn.write('hello');
    const answer = await conn.waitFor(/"body":"hello"/);
    assert.match(answer, /\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.equal(orders.seen[0]?.headers.expect, undefined, 'Expect is not forwarded');
  });

  test('a refused request, or one no instance can take, is answered without 100 Continue and with Connection: close', async (t) => {
    const orders = await startUpstream(t, 'orders');
    const gateway = await startGateway(
      t,
      {
        routes: [
          { path: '/api', service: 'orders' },
          { path: '/none', service: 'none' },
        ],
      },
      staticSource({ orders: [orders.instance('orders')] }),
      { middleware: [requireToken] },
    );
    for (const [target, token, status, code] of [
      ['/api/x', '', 401, 'SY_GATEWAY_UNAUTHENTICATED'],
      ['/nope', 'X-Token: ok\r\n', 404, 'SY_GATEWAY_ROUTE_NOT_FOUND'],
      ['/none/x', 'X-Token: ok\r\n', 503, 'SY_GATEWAY_NO_HEALTHY_INSTANCE'],
    ] as const) {
      const conn = await rawConnection(t, gateway.port);
      conn.write(
        `PUT ${target} HTTP/1.1\r\nHost: a\r\n${token}Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n`,
      );
      const answer = await conn.closed();
      assert.doesNotMatch(answer, /100 Continue/, target);
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), target);
      assert.match(answer, /\r\nconnection: close\r\n/i, target);
      assert.match(answer, new RegExp(`"code":"${code}"`), target);
    }
    assert.equal(orders.seen.length, 0);
  });
});

describe('request body limit while streaming', () => {
  test('a chunked upload past ctx.bodyLimit is a 413 with Connection: close, cut before the upstream gets it all', async (t) => {
    let upstreamBytes = 0;
    const upstream = await startRawUpstream(t, (req, res) => {
      req.on('data', (data: Buffer) => {
        upstreamBytes += data.length;
      });
      req.on('end', () => res.end('done'));
      req.on('error', () => {});
    });
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'up' }] },
      staticSource({ up: [instanceAt('up', upstream.port)] }),
      { middleware: [limitBody(1000)] },
    );
    const conn = await rawConnection(t, gateway.port);
    conn.write('POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    conn.write(chunk(600));
    conn.write(chunk(600));
    const answer = await conn.closed();
    assert.match(answer, /^HTTP\/1\.1 413 Payload Too Large\r\n/);
    assert.match(answer, /\r\nconnection: close\r\n/i);
    assert.match(answer, /"code":"SY_GATEWAY_PAYLOAD_TOO_LARGE"/);
    assert.match(answer, /limit of 1000 bytes/);
    assert.ok(upstreamBytes <= 1000, `the upstream got ${upstreamBytes} bytes`);

    const within = await rawConnection(t, gateway.port);
    within.write(
      `POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(500)}${chunk(500)}0\r\n\r\n`,
    );
    assert.match(await within.waitFor(/done$/), /^HTTP\/1\.1 200 OK\r\n/);
  });
});

describe('trailers, HEAD and OPTIONS', () => {
  test('response trailers of a chunked upstream response reach the client; request trailers are dropped', async (t) => {
    let requestTrailers: IncomingMessage['trailers'] | undefined;
    const upstream = await startRawUpstream(t, (req, res) => {
      req.resume();
      req.on('end', () => {
        requestTrailers = req.trailers;
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write('abc');
        res.addTrailers({ 'x-checksum': 'sha1-a9993e36' });
        res.end();
      });
    });
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'up' }] },
      staticSource({ up: [instanceAt('up', upstream.port)] }),
    );
    const response = await new Promise<{ headers: IncomingMessage['headers']; body: string; trailers: object }>(
      (resolve, reject) => {
        const url = new URL(gateway.url);
        const req = httpRequest({ host: url.hostname, port: url.port, path: '/api/file', agent: false });
        req.on('error', reject);
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (text: string) => {
            body += text;
          });
          res.on('end', () => resolve({ headers: res.headers, body, trailers: res.trailers }));
        });
        req.end();
      },
    );
    assert.equal(response.body, 'abc');
    assert.equal(response.headers.trailer, 'x-checksum');
    assert.deepEqual(response.trailers, { 'x-checksum': 'sha1-a9993e36' });

    const conn = await rawConnection(t, gateway.port);
    conn.write('POST /api/up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n');
    conn.write('3\r\nxyz\r\n0\r\nx-sum: 42\r\n\r\n');
    await conn.waitFor(/x-checksum: sha1-a9993e36\r\n\r\n$/);
    assert.deepEqual(requestTrailers, {}, 'undici cannot send request trailers');
  });

  test('OPTIONS is forwarded upstream when no middleware answers it', async (t) => {
    const orders = await startUpstream(t, 'orders', (req, res) => {
      res.writeHead(204, { allow: 'GET, POST, OPTIONS', 'x-method': String(req.method) });
      res.end();
    });
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'orders' }] },
      staticSource({ orders: [orders.instance('orders')] }),
    );
    const response = await send(gateway.url, '/api/orders', { method: 'OPTIONS' });
    assert.equal(response.status, 204);
    assert.equal(response.headers.allow, 'GET, POST, OPTIONS');
    assert.equal(response.headers['x-method'], 'OPTIONS');
    assert.equal(orders.seen[0]?.url, '/orders');
  });
});
