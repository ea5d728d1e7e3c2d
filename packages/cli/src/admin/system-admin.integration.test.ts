import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createGateway, type Gateway } from '@switchyard/gateway';
import {
  createMemorySagaStore,
  createSagaEngine,
  createSagaOperator,
  defineSaga,
  type SagaStore,
} from '@switchyard/saga';
import { SpanStore } from '@switchyard/telemetry';
import { createRedRecorder } from './red-recorder.ts';
import { type AdminAuthorization, type SystemAdmin, startSystemAdmin } from './system-admin.ts';

/** An OTLP/JSON export with one server span of `service`. */
function otlpJson(service: string, traceId: string, spanId: string, parent?: string) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: [
              {
                traceId,
                spanId,
                ...(parent ? { parentSpanId: parent } : {}),
                name: `GET /${service}`,
                kind: 2,
                startTimeUnixNano: '1700000000000000000',
                endTimeUnixNano: '1700000000005000000',
                attributes: [{ key: 'http.response.status_code', value: { intValue: '200' } }],
                status: { code: 0 },
              },
            ],
          },
        ],
      },
    ],
  };
}

/** Reads SSE frames until `predicate` matches one; rejects after `ms`. */
function readEvents(url: string, headers: Record<string, string> = {}) {
  const frames: Array<{ event: string; data: unknown }> = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  const req = request(url, { headers });
  const opened = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      resolve(res.statusCode ?? 0);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) frames.push({ event, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
        for (const w of waiters) w();
      });
    });
    req.on('error', reject);
  });
  req.end();
  const waitFor = (predicate: (f: { event: string; data: unknown }) => boolean, ms = 5000) =>
    new Promise<{ event: string; data: unknown }>((resolve, reject) => {
      const check = () => {
        const found = frames.find(predicate);
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching event in ${ms}ms; got ${frames.map((f) => f.event).join(', ')}`));
      }, ms);
      waiters.add(check);
      check();
    });
  return { opened, frames, waitFor, close: () => req.destroy() };
}

describe('system admin API', { timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-admin-'));
  const assets = join(dir, 'assets');
  let upstream: ReturnType<typeof createServer>;
  let gateway: Gateway;
  let admin: SystemAdmin;
  let store: SagaStore;
  const spans = new SpanStore({ capacity: 100 });
  const red = createRedRecorder();
  let parkedId = '';
  let completedId = '';
  const tokenFor: Record<string, 'read' | 'write'> = { r: 'read', w: 'write' };
  const authorize = (req: { headers: Record<string, unknown> }, scope: 'read' | 'write'): AdminAuthorization => {
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (token === undefined || tokenFor[token] === undefined)
      return { ok: false, status: 401, code: 'SY_TEST_UNAUTHORIZED', message: 'token required' };
    if (scope === 'write' && tokenFor[token] !== 'write')
      return { ok: false, status: 403, code: 'SY_TEST_FORBIDDEN', message: 'write scope required' };
    return { ok: true };
  };
  const get = async (path: string, token = 'r') => {
    const res = await fetch(`${admin.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return {
      status: res.status,
      headers: res.headers,
      body: (await res.json()) as Record<string, unknown> & unknown[],
    };
  };
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${admin.url}${path}`, {
      method: 'POST',
      headers: { authorization: 'Bearer w', 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    mkdirSync(assets);
    writeFileSync(join(assets, 'index.html'), '<!doctype html><title>dash</title>');
    writeFileSync(join(assets, 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'do not serve');
    upstream = createServer((req, res) => {
      res.statusCode = req.url === '/fail' ? 503 : 200;
      res.end('ok');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    gateway = await createGateway({
      options: { port: 0, routes: [{ path: '/api', name: 'api', upstreams: [`http://127.0.0.1:${port}`] }] },
      onResponse: red.record,
    });

    // One saga parks (its compensation fails), one completes.
    store = createMemorySagaStore();
    const parking = defineSaga<{ n: number }>('refund')
      .step('pay', {
        execute: () => ({ paid: 1 }),
        compensate: () => {
          throw new Error('refund service down');
        },
      })
      .step('ship', {
        execute: () => {
          throw new Error('no truck');
        },
      })
      .build();
    const fine = defineSaga<{ n: number }>('fine')
      .step('only', { execute: () => ({ ok: true }) })
      .build();
    const engine = createSagaEngine({
      store,
      sagas: [parking, fine],
      owner: 'test',
      compensation: { maxAttempts: 1, backoff: { initial: 1, jitter: 'none' } },
    });
    await engine.start();
    parkedId = (await engine.run(parking, { n: 1 }, { id: 'parked-1' })).id;
    completedId = (await engine.run(fine, { n: 2 }, { id: 'done-1' })).id;
    await engine.stop();

    admin = await startSystemAdmin({
      host: '127.0.0.1',
      port: 0,
      name: 'test-system',
      gatewayUrl: gateway.url,
      registryUrl: 'http://127.0.0.1:1',
      startedAt: 1234,
      services: () => [
        {
          service: 'orders',
          instances: [{ id: 'orders-1', address: '127.0.0.1', port: 1, health: 'passing', tags: ['v1'], meta: {} }],
        },
      ],
      supervisor: (id) => (id === 'orders-1' ? { pid: 42, restarts: 1, state: 'running' } : undefined),
      gateway: gateway.admin,
      red,
      sagas: createSagaOperator(store, { actor: 'test' }),
      spanStore: spans,
      assetsDir: assets,
      authorize,
      eventsIntervalMs: 50,
    });
  });

  after(async () => {
    await admin?.close();
    await gateway?.close();
    await new Promise<void>((r) => upstream.close(() => r()));
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /healthz needs no token; every endpoint else does (401 without, 403 without the scope)', async () => {
    const health = await fetch(`${admin.url}/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const none = await fetch(`${admin.url}/admin/system`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="switchyard-admin"');
    const body = (await none.json()) as { error: { code: string }; requestId: string };
    assert.equal(body.error.code, 'SY_TEST_UNAUTHORIZED');
    assert.equal(typeof body.requestId, 'string');
    const readOnly = await fetch(`${admin.url}/admin/sagas/${parkedId}/retry`, {
      method: 'POST',
      headers: { authorization: 'Bearer r' },
    });
    assert.equal(readOnly.status, 403);
  });

  it('GET /admin/system names the system and its features', async () => {
    const { status, body } = await get('/admin/system');
    assert.equal(status, 200);
    assert.deepEqual(body, {
      name: 'test-system',
      gateway: gateway.url,
      registry: 'http://127.0.0.1:1',
      startedAt: 1234,
      features: { sagas: true, traces: true },
    });
  });

  it('GET /admin/services merges registry health and the supervisor state', async () => {
    const { body } = await get('/admin/services');
    assert.deepEqual(body, [
      {
        service: 'orders',
        instances: [
          {
            id: 'orders-1',
            address: '127.0.0.1',
            port: 1,
            health: 'passing',
            ejected: false,
            tags: ['v1'],
            meta: {},
            pid: 42,
            restarts: 1,
            state: 'running',
          },
        ],
      },
    ]);
  });

  it('serves the gateway views through the gateway admin handler', async () => {
    const routes = await get('/admin/routes');
    assert.equal(routes.status, 200);
    assert.equal((routes.body as unknown as { routes: Array<{ path: string }> }).routes[0]?.path, '/api');
    for (const path of ['/admin/upstreams', '/admin/breakers', '/admin/rate-limits', '/admin/config']) {
      assert.equal((await get(path)).status, 200, path);
    }
  });

  it('GET /admin/red reports requests, errors and latency per route', async () => {
    for (let i = 0; i < 3; i++) await (await fetch(`${gateway.url}/api/ok`)).text();
    await (await fetch(`${gateway.url}/api/fail`)).text();
    const { status, body } = await get('/admin/red?window=60s');
    assert.equal(status, 200);
    const row = (body as unknown as Array<Record<string, unknown>>).find((r) => r.route === 'api');
    assert.equal(row?.method, 'GET');
    assert.equal(row?.requests, 4);
    assert.equal(row?.errors, 1);
    assert.equal(row?.errorRate, 0.25);
    assert.ok((row?.p99Ms as number) > 0);
    assert.equal((row?.series as unknown[] | undefined)?.length, 12, 'one point per 5 s over 60 s');
    const bad = await get('/admin/red?window=soon');
    assert.equal(bad.status, 400);
    assert.equal((bad.body.error as { code: string }).code, 'SY_CLI_ADMIN_BAD_REQUEST');
  });

  it('lists and shows sagas; 404 for an unknown one', async () => {
    const parked = await get('/admin/sagas?status=parked');
    assert.deepEqual(
      (parked.body.sagas as Array<{ id: string }>).map((s) => s.id),
      [parkedId],
    );
    const all = await get('/admin/sagas?limit=1');
    assert.equal((all.body.sagas as unknown[]).length, 1);
    assert.equal(typeof all.body.nextCursor, 'string');
    const shown = await get(`/admin/sagas/${completedId}`);
    assert.equal((shown.body.saga as { status: string }).status, 'completed');
    assert.equal((shown.body.history as Array<{ kind: string }>).at(-1)?.kind, 'saga.completed');
    const unknown = await get('/admin/sagas/nope');
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body.error as { code: string }).code, 'SY_SAGA_NOT_FOUND');
    const badStatus = await get('/admin/sagas?status=sideways');
    assert.equal(badStatus.status, 400);
  });

  it('retry and abort: 409 when not parked, 404 when unknown, 400 abort without reason', async () => {
    const notParked = await post(`/admin/sagas/${completedId}/retry`, {});
    assert.equal(notParked.status, 409);
    assert.equal((notParked.body.error as { code: string }).code, 'SY_SAGA_NOT_PARKED');
    assert.equal((await post('/admin/sagas/nope/abort', { reason: 'x' })).status, 404);
    assert.equal((await post(`/admin/sagas/${parkedId}/abort`, {})).status, 400);
    assert.equal((await post(`/admin/sagas/${parkedId}/abort`, '{not json')).status, 400);
  });

  it('POST /v1/traces stores OTLP/JSON and gzip spans; GET /admin/traces serves them', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const root = await post('/v1/traces', otlpJson('gateway', traceId, '00f067aa0ba902b7'));
    assert.equal(root.status, 200);
    const child = await fetch(`${admin.url}/v1/traces`, {
      method: 'POST',
      headers: { authorization: 'Bearer w', 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(otlpJson('orders', traceId, '00f067aa0ba902b8', '00f067aa0ba902b7'))),
    });
    assert.equal(child.status, 200);
    const traces = await get('/admin/traces?service=orders');
    const summary = (traces.body as unknown as Array<{ traceId: string; services: string[]; name: string }>)[0];
    assert.equal(summary?.traceId, traceId);
    assert.deepEqual(summary?.services, ['gateway', 'orders']);
    assert.equal(summary?.name, 'GET /gateway');
    const trace = await get(`/admin/traces/${traceId}`);
    assert.deepEqual(
      (trace.body as unknown as Array<{ service: string; parentSpanId: string | null }>).map((s) => [
        s.service,
        s.parentSpanId,
      ]),
      [
        ['gateway', null],
        ['orders', '00f067aa0ba902b7'],
      ],
    );
    assert.equal((await get('/admin/traces/0123456789abcdef0123456789abcdef')).status, 404);
  });

  it('POST /v1/traces refuses malformed bodies with 400 and a clear error, storing nothing', async () => {
    const before = spans.size;
    const garbage = await post('/v1/traces', Buffer.from([0xff, 0xff, 0xff, 0x0f]), {
      'content-type': 'application/x-protobuf',
    });
    assert.equal(garbage.status, 400);
    assert.equal((garbage.body.error as { code: string }).code, 'SY_TELEMETRY_OTLP_INVALID');
    const badId = await post('/v1/traces', otlpJson('x', 'abc', '00f067aa0ba902b7'));
    assert.equal(badId.status, 400);
    assert.match(
      (badId.body.error as { message: string }).message,
      /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected 32 hex characters/,
    );
    const text = await post('/v1/traces', 'hello', { 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    assert.equal(spans.size, before);
  });

  it('serves static files with content types, index.html at /, and refuses traversal', async () => {
    const index = await fetch(`${admin.url}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await index.text(), /dash/);
    const js = await fetch(`${admin.url}/dashboard/app.js`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await js.text(), 'console.log(1)');
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/dashboard/..%2fsecret.txt', '/missing.css']) {
      const res = await fetch(`${admin.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'SY_CLI_ADMIN_NOT_FOUND');
    }
  });

  it('answers 404 for unknown endpoints and 405 with Allow for a wrong method', async () => {
    const unknown = await get('/admin/nothing');
    assert.equal(unknown.status, 404);
    const wrong = await fetch(`${admin.url}/admin/system`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer w' },
    });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
    const getOnPost = await get(`/admin/sagas/${parkedId}/retry`);
    assert.equal(getOnPost.status, 405);
    assert.equal(getOnPost.headers.get('allow'), 'POST');
  });

  it('GET /admin/events sends snapshots at connect, then changes as they happen', async () => {
    const events = readEvents(`${admin.url}/admin/events`, { authorization: 'Bearer r' });
    try {
      assert.equal(await events.opened, 200);
      const services = await events.waitFor((f) => f.event === 'services');
      assert.equal((services.data as Array<{ service: string }>)[0]?.service, 'orders');
      await events.waitFor((f) => f.event === 'breakers');
      await events.waitFor((f) => f.event === 'rate-limits');
      const firstRed = await events.waitFor((f) => f.event === 'red');
      // A change: a new route/method pair shows up in the next red snapshot.
      await (await fetch(`${gateway.url}/api/changed`, { method: 'DELETE' })).text();
      await events.waitFor(
        (f) =>
          f !== firstRed &&
          f.event === 'red' &&
          (f.data as Array<{ method: string }>).some((row) => row.method === 'DELETE'),
      );
      // A saga changed by an admin action, and a new trace.
      const aborted = await post(`/admin/sagas/${parkedId}/abort`, { reason: 'test' });
      assert.equal(aborted.status, 200);
      const saga = await events.waitFor((f) => f.event === 'saga');
      assert.equal((saga.data as { status: string }).status, 'aborted');
      await post('/v1/traces', otlpJson('late', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '00f067aa0ba902b9'));
      const trace = await events.waitFor((f) => f.event === 'trace');
      assert.equal((trace.data as { service: string }).service, 'late');
    } finally {
      events.close();
    }
  });
});
