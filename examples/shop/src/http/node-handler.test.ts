import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { toNodeHandler } from './node-handler.ts';
import type { App, AppRequest, AsyncApp } from './types.ts';

interface Recorded {
  status: number;
  headers: Record<string, string | number>;
  body: unknown;
}

/** Drives the adapter with a stream standing in for the request and a recorder for the response. */
function call(
  app: App | AsyncApp,
  init: { method?: string; url?: string; headers?: Record<string, string | string[]>; chunks?: (string | Buffer)[] },
  options: Parameters<typeof toNodeHandler>[1] = {},
): Promise<Recorded> {
  const req = Object.assign(Readable.from((init.chunks ?? []).map((c) => Buffer.from(c))), {
    method: init.method ?? 'POST',
    url: init.url ?? '/things',
    headers: init.headers ?? {},
  });
  return new Promise((resolve, reject) => {
    const res = {
      headersSent: false,
      destroyed: false,
      status: 0,
      headers: {} as Record<string, string | number>,
      writeHead(status: number, headers: Record<string, string | number>) {
        this.status = status;
        this.headers = headers;
        this.headersSent = true;
        return this;
      },
      end(payload?: Buffer) {
        try {
          const body = payload === undefined ? undefined : JSON.parse(payload.toString('utf8'));
          resolve({ status: this.status, headers: this.headers, body });
        } catch (err) {
          reject(err);
        }
      },
      destroy() {
        this.destroyed = true;
      },
    };
    toNodeHandler(app, { onError: () => {}, ...options })(
      req as unknown as IncomingMessage,
      res as unknown as ServerResponse,
    );
  });
}

/** An app that answers with what it received. */
const echo: App = {
  handle: (req: AppRequest) => ({
    status: 200,
    body: { method: req.method, path: req.path, q: req.query.get('q'), body: req.body ?? null, h: req.headers['x-h'] },
  }),
};

const json = { 'content-type': 'application/json' };

describe('toNodeHandler', () => {
  it('answers malformed JSON with 400 SY_SHOP_MALFORMED_JSON', async () => {
    const res = await call(echo, { headers: json, chunks: ['{"customer": '] });
    assert.equal(res.status, 400);
    const error = (res.body as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'SY_SHOP_MALFORMED_JSON');
    assert.match(error.message, /^request body is not valid JSON: ./);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(res.headers.connection, undefined, 'the body was read whole, so the connection can be kept');
  });

  it('answers a body that is not UTF-8 with 400 SY_SHOP_MALFORMED_JSON', async () => {
    const res = await call(echo, { headers: json, chunks: [Buffer.from([0x22, 0xff, 0x22])] });
    assert.equal(res.status, 400);
    assert.match((res.body as { error: { message: string } }).error.message, /not valid UTF-8/);
  });

  it('answers a non-JSON content type with 415', async () => {
    const res = await call(echo, { headers: { 'content-type': 'text/plain' }, chunks: ['{}'] });
    assert.equal(res.status, 415);
    assert.equal((res.body as { error: { code: string } }).error.code, 'SY_SHOP_UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a declared Content-Length over the limit with 413 and closes the connection', async () => {
    const res = await call(
      echo,
      { headers: { ...json, 'content-length': '11' }, chunks: ['{"a":"xxxx"}'] },
      { maxBodyBytes: 10 },
    );
    assert.equal(res.status, 413);
    assert.equal((res.body as { error: { code: string } }).error.code, 'SY_SHOP_BODY_TOO_LARGE');
    assert.equal(res.headers.connection, 'close');
  });

  it('answers a streamed body over the limit with 413', async () => {
    const res = await call(echo, { headers: json, chunks: ['{"a":', '"xxxxxxxxxx"}'] }, { maxBodyBytes: 10 });
    assert.equal(res.status, 413);
  });

  it('answers with 500 JSON when the app throws', async () => {
    const seen: unknown[] = [];
    const throwing: App = {
      handle: () => {
        throw new Error('boom');
      },
    };
    const res = await call(throwing, { method: 'GET' }, { onError: (err) => seen.push(err) });
    assert.equal(res.status, 500);
    assert.equal((res.body as { error: { code: string } }).error.code, 'SY_SHOP_INTERNAL');
    assert.equal(seen.length, 1);
  });

  it('waits for an app that answers with a promise', async () => {
    const later: AsyncApp = {
      handle: async (req) => ({ status: 202, body: { path: req.path }, headers: { location: '/x' } }),
    };
    const res = await call(later, { method: 'GET', url: '/orders' });
    assert.deepEqual(res, {
      status: 202,
      headers: { location: '/x', 'content-type': 'application/json; charset=utf-8', 'content-length': 18 },
      body: { path: '/orders' },
    });
  });

  it('answers with 500 JSON and reports it when the app’s promise rejects', async () => {
    const seen: unknown[] = [];
    const failing: AsyncApp = { handle: async () => Promise.reject(new Error('boom')) };
    const res = await call(failing, { method: 'GET' }, { onError: (err) => seen.push(err) });
    assert.equal(res.status, 500);
    assert.equal((res.body as { error: { code: string } }).error.code, 'SY_SHOP_INTERNAL');
    assert.equal(seen.length, 1);
  });

  it('answers with 500 JSON when the response body cannot be serialised', async () => {
    const res = await call({ handle: () => ({ status: 200, body: { n: 1n } }) }, { method: 'GET' });
    assert.equal(res.status, 500);
  });

  it('passes method, path, query, joined headers and parsed body to the app', async () => {
    const res = await call(echo, {
      url: '/things/1?q=yes',
      headers: { 'content-type': 'application/merge-patch+json; charset=utf-8', 'x-h': ['a', 'b'] },
      chunks: ['{"a":', '1}'],
    });
    assert.deepEqual(res.body, { method: 'POST', path: '/things/1', q: 'yes', body: { a: 1 }, h: 'a, b' });
  });

  it('passes no body as undefined and reads a body without content type as JSON', async () => {
    assert.deepEqual((await call(echo, { method: 'GET' })).body, {
      method: 'GET',
      path: '/things',
      q: null,
      body: null,
    });
    assert.deepEqual(((await call(echo, { chunks: ['[1]'] })).body as { body: unknown }).body, [1]);
  });

  it('adds responseHeaders to answers and to its own errors, and omits the body when undefined', async () => {
    const headers = { 'x-instance-id': 'i-1' };
    const empty = await call(
      { handle: () => ({ status: 204, body: undefined }) },
      { method: 'DELETE' },
      {
        responseHeaders: headers,
      },
    );
    assert.deepEqual([empty.status, empty.body, empty.headers['x-instance-id']], [204, undefined, 'i-1']);
    assert.equal(empty.headers['content-type'], undefined);
    const refused = await call(echo, { headers: json, chunks: ['nope'] }, { responseHeaders: headers });
    assert.equal(refused.headers['x-instance-id'], 'i-1');
  });

  it('rejects invalid options with SY_CONFIG_INVALID', () => {
    assert.throws(() => toNodeHandler(echo, { maxBodyBytes: 0 }), { code: 'SY_CONFIG_INVALID' });
  });
});
