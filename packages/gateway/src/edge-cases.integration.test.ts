/**
 * Attacks on the HTTP edge, sent as raw bytes against a real gateway and upstream: request
 * smuggling through ambiguous framing, malformed headers, oversized and slow headers, encoded
 * traversal and forged forwarding headers. Each must be refused at the gateway (or neutralised)
 * without a second request reaching the upstream. Cases already covered by
 * gateway.integration.test.ts (`%2e%2e`, `%2F`, a 20 kB header with the default limit, one
 * forged `X-Forwarded-For`) are not repeated.
 */

import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { rawConnection, send, startGateway, startUpstream, staticSource, type Upstream } from './fixtures.test.ts';
import type { GatewayOptions } from './options.ts';

async function setUp(t: TestContext, extra: Partial<Omit<GatewayOptions, 'routes'>> = {}) {
  const api = await startUpstream(t, 'api');
  const admin = await startUpstream(t, 'admin');
  const gateway = await startGateway(
    t,
    {
      ...extra,
      routes: [
        { path: '/api', service: 'api' },
        { path: '/admin', service: 'admin' },
      ],
    },
    staticSource({ api: [api.instance('api')], admin: [admin.instance('admin')] }),
  );
  return { api, admin, gateway };
}

/** Sends `bytes` on a fresh connection and returns everything received until the gateway closed it. */
async function exchange(t: TestContext, port: number, bytes: string): Promise<string> {
  const conn = await rawConnection(t, port);
  conn.write(bytes);
  return conn.closed();
}

function statusLines(answer: string): string[] {
  return answer.match(/HTTP\/1\.1 \d{3}/g) ?? [];
}

function assertRefused(answer: string, upstreams: readonly Upstream[], what: string): void {
  assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/, what);
  assert.match(answer, /"code":"SY_GATEWAY_BAD_REQUEST"/, what);
  assert.match(answer, /\r\nconnection: close\r\n/i, what);
  assert.deepEqual(statusLines(answer), ['HTTP/1.1 400'], `${what}: exactly one response`);
  for (const upstream of upstreams) assert.equal(upstream.seen.length, 0, `${what}: reached ${upstream.name}`);
}

const smuggled = 'GET /admin/secret HTTP/1.1\r\nHost: a\r\n\r\n';

describe('request smuggling is refused at the edge', () => {
  test('Content-Length together with Transfer-Encoding is a 400 and nothing reaches an upstream', async (t) => {
    const { api, admin, gateway } = await setUp(t);
    for (const order of [
      'Content-Length: 4\r\nTransfer-Encoding: chunked',
      'Transfer-Encoding: chunked\r\nContent-Length: 4',
    ]) {
      const answer = await exchange(
        t,
        gateway.port,
        `POST /api/x HTTP/1.1\r\nHost: a\r\n${order}\r\n\r\n0\r\n\r\n${smuggled}`,
      );
      assertRefused(answer, [api, admin], order);
    }
  });

  test('two different Content-Length values are a 400', async (t) => {
    const { api, admin, gateway } = await setUp(t);
    for (const lengths of ['Content-Length: 4\r\nContent-Length: 40', 'Content-Length: 4, 40']) {
      const answer = await exchange(
        t,
        gateway.port,
        `POST /api/x HTTP/1.1\r\nHost: a\r\n${lengths}\r\n\r\nabcd${smuggled}`,
      );
      assertRefused(answer, [api, admin], lengths);
    }
  });

  test('a Transfer-Encoding not ending in chunked, or disguised with whitespace, is a 400', async (t) => {
    const { api, admin, gateway } = await setUp(t);
    for (const header of [
      'Transfer-Encoding: chunked, identity',
      'Transfer-Encoding: identity',
      'Transfer-Encoding: xchunked',
      'Transfer-Encoding : chunked',
      ' Transfer-Encoding: chunked',
      'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity',
      'Transfer-Encoding:\x0bchunked',
      'Content-Length: +4',
      'Content-Length: 0x4',
    ]) {
      const answer = await exchange(
        t,
        gateway.port,
        `POST /api/x HTTP/1.1\r\nHost: a\r\n${header}\r\n\r\n0\r\n\r\n${smuggled}`,
      );
      assertRefused(answer, [api, admin], JSON.stringify(header));
    }
  });

  test('a chunk size that lies about its data cannot start a second request', async (t) => {
    const { api, admin, gateway } = await setUp(t);
    const answer = await exchange(
      t,
      gateway.port,
      `POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n${smuggled}`,
    );
    assert.match(answer, /HTTP\/1\.1 400 Bad Request\r\n/);
    assert.ok(api.seen.length <= 1, `the api upstream saw ${api.seen.length} requests`);
    assert.equal(admin.seen.length, 0, 'the smuggled request reached the admin upstream');
  });

  test('obsolete line folding and a missing Host are 400', async (t) => {
    const { api, admin, gateway } = await setUp(t);
    const folded = await exchange(t, gateway.port, 'GET /api/x HTTP/1.1\r\nHost: a\r\nX-Long: a\r\n  folded\r\n\r\n');
    assertRefused(folded, [api, admin], 'obs-fold');
    // node:http answers this one itself (`requireHostHeader`), before any listener: no JSON body.
    const hostless = await exchange(t, gateway.port, 'GET /api/x HTTP/1.1\r\n\r\n');
    assert.match(hostless, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(api.seen.length + admin.seen.length, 0);
  });
});

describe('header size and speed limits', () => {
  test('headers over gateway.server.maxHeaderSize are a JSON 431; smaller ones pass', async (t) => {
    const { api, gateway } = await setUp(t, { server: { maxHeaderSize: 4096 } });
    const answer = await exchange(
      t,
      gateway.port,
      `GET /api/x HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(5_000)}\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.match(answer, /\r\ncontent-type: application\/json\r\n/);
    assert.match(answer, /"code":"SY_GATEWAY_HEADERS_TOO_LARGE"/);
    assert.equal(api.seen.length, 0);
    const fits = await send(gateway.url, '/api/x', { headers: { 'x-big': 'b'.repeat(2_000) } });
    assert.equal(fits.status, 200);
  });

  test('keepAliveTimeout is announced and maxRequestsPerSocket closes the connection', async (t) => {
    const { gateway } = await setUp(t, { server: { keepAliveTimeout: '2s', maxRequestsPerSocket: 2 } });
    const conn = await rawConnection(t, gateway.port);
    conn.write('GET /api/1 HTTP/1.1\r\nHost: a\r\n\r\n');
    const first = await conn.waitFor(/"url":"\/1"/);
    assert.match(first, /\r\nkeep-alive: timeout=2, max=2\r\n/i);
    conn.write('GET /api/2 HTTP/1.1\r\nHost: a\r\n\r\n');
    const both = await conn.closed();
    assert.match(both, /"url":"\/2"/);
    assert.match(both.slice(first.length), /\r\nconnection: close\r\n/i, 'the second response ends the connection');
  });

  test('headers sent too slowly are cut by headersTimeout with a JSON 408', async (t) => {
    const { api, gateway } = await setUp(t, { server: { headersTimeout: '300ms' } });
    const conn = await rawConnection(t, gateway.port);
    const started = Date.now();
    conn.write('GET /api/x HTTP/1.1\r\nHost: a\r\nX-Slow: 1\r\n');
    const answer = await conn.closed(5_000);
    const elapsed = Date.now() - started;
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.match(answer, /"code":"SY_GATEWAY_REQUEST_TIMEOUT"/);
    assert.ok(elapsed >= 250, `cut after ${elapsed}ms, before headersTimeout`);
    assert.ok(elapsed < 3_000, `cut after ${elapsed}ms: the connections check runs too rarely`);
    assert.equal(api.seen.length, 0);
  });
});

describe('paths and forwarding headers', () => {
  test('backslashes, mixed-case and half-encoded dot segments never reach another route', async (t) => {
    const { api, admin, gateway } = await setUp(t);
    for (const path of [
      '/api/..\\admin',
      '/api\\..\\admin',
      '/api/%2E%2E/admin',
      '/api/.%2e/admin',
      '/api/%2e./admin',
      '/api/%5c../admin',
      '/api/%2F../admin',
      '/api/%00/../admin',
    ]) {
      const conn = await rawConnection(t, gateway.port);
      conn.write(`GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      const answer = await conn.closed();
      assert.match(answer, /^HTTP\/1\.1 400 /, path);
      assert.match(answer, /"code":"SY_GATEWAY_(BAD_PATH|BAD_REQUEST)"/, path);
    }
    assert.equal(api.seen.length, 0);
    assert.equal(admin.seen.length, 0);
  });

  test('a double-encoded dot segment stays an opaque segment inside its route', async (t) => {
    const { api, admin, gateway } = await setUp(t);
    const response = await send(gateway.url, '/api/%252e%252e/admin');
    assert.equal(response.status, 200);
    assert.equal(JSON.parse(response.body).url, '/%252e%252e/admin', 'forwarded as sent, not decoded twice');
    assert.equal(api.seen.length, 1);
    assert.equal(admin.seen.length, 0);
  });

  test('forged X-Forwarded-For lines from an untrusted peer are replaced, not appended to', async (t) => {
    const { api, gateway } = await setUp(t);
    const conn = await rawConnection(t, gateway.port);
    conn.write(
      'GET /api/x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 7.7.7.7\r\n' +
        'Forwarded: for=8.8.8.8\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n',
    );
    await conn.closed();
    const seen = api.seen[0];
    assert.ok(seen);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers.forwarded, undefined);
    assert.equal(seen.rawHeaders.filter((name) => name.toLowerCase() === 'x-forwarded-for').length, 1);
  });
});
