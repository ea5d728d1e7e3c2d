import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { describe, type TestContext, test } from 'node:test';
import { TIMEOUT_HEADER } from '@switchyard/resilience';
import {
  instanceAt,
  type RawResponse,
  send,
  startGateway,
  startRawUpstream,
  startUpstream,
  staticSource,
  type UpstreamHandler,
} from '../fixtures.test.ts';
import type { RouteOptions } from '../options.ts';
import type { AggregateBody } from './handler.ts';

const json =
  (body: unknown, status = 200, delayMs = 0): UpstreamHandler =>
  (_req, res) => {
    const send = () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  };

function bodyOf(response: RawResponse): AggregateBody {
  return JSON.parse(response.body) as AggregateBody;
}

/** A gateway with one aggregate route at `/profile/:id`, the given upstreams registered by service. */
async function aggregateGateway(
  t: TestContext,
  aggregate: NonNullable<RouteOptions['aggregate']>,
  upstreams: Record<string, number>,
) {
  const instances = Object.fromEntries(
    Object.entries(upstreams).map(([service, port]) => [service, [instanceAt(service, port)]]),
  );
  return startGateway(t, { routes: [{ path: '/profile/:id', aggregate }] }, staticSource(instances));
}

describe('aggregate routes', () => {
  test('independent calls run in parallel and are merged; request id, trace and Authorization travel', async (t) => {
    const arrivals: number[] = [];
    const timed =
      (handler: UpstreamHandler): UpstreamHandler =>
      (req, res, body) => {
        arrivals.push(Date.now());
        handler(req, res, body);
      };
    const users = await startUpstream(t, 'users', timed(json({ id: 'u1', name: 'Ada' }, 200, 200)));
    const prefs = await startUpstream(t, 'prefs', timed(json({ theme: 'dark' }, 200, 200)));
    const gateway = await aggregateGateway(
      t,
      {
        calls: [
          { name: 'user', service: 'users', path: '/users/{params.id}?fields={query.fields}' },
          { name: 'prefs', service: 'prefs', path: '/prefs/{params.id}', headers: { 'x-api-version': '2' } },
        ],
      },
      { users: users.port, prefs: prefs.port },
    );
    // A first request warms the code paths and connections, so the timing below is the calls'.
    assert.equal((await send(gateway.url, '/profile/warm')).status, 200);
    arrivals.length = 0;
    const started = Date.now();
    const response = await send(gateway.url, '/profile/a%20b?fields=name,id', {
      headers: {
        'x-request-id': 'req-42',
        authorization: 'Bearer t0k',
        cookie: 'session=secret',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    });
    const elapsed = Date.now() - started;
    assert.equal(response.status, 200, response.body);
    assert.ok(elapsed >= 190 && elapsed < 380, `two 200 ms calls took ${elapsed}ms`);
    assert.equal(arrivals.length, 2);
    assert.ok(Math.abs((arrivals[0] ?? 0) - (arrivals[1] ?? 0)) < 100, 'both calls were sent at once');
    assert.equal(response.headers['x-request-id'], 'req-42');
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    const body = bodyOf(response);
    assert.deepEqual(body.data, { user: { id: 'u1', name: 'Ada' }, prefs: { theme: 'dark' } });
    assert.equal(body.error, undefined);
    assert.deepEqual(Object.keys(body.calls), ['user', 'prefs']);
    assert.equal(body.calls.user?.status, 'ok');
    assert.equal(body.calls.user?.httpStatus, 200);
    assert.ok((body.calls.user?.durationMs ?? 0) >= 190);
    const seen = users.seen[1];
    assert.equal(seen?.url, '/users/a%20b?fields=name%2Cid');
    assert.equal(seen?.headers['x-request-id'], 'req-42');
    assert.equal(seen?.headers.authorization, 'Bearer t0k');
    assert.equal(seen?.headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(seen?.headers.cookie, undefined, 'headers not listed in forwardHeaders stay behind');
    assert.equal(seen?.headers.via, '1.1 switchyard');
    assert.equal(prefs.seen[1]?.headers['x-api-version'], '2');
    assert.ok(Number(seen?.headers[TIMEOUT_HEADER]) > 0, 'the remaining deadline is forwarded');
  });

  test('a call reading an earlier body starts after it; a missing field skips the dependent', async (t) => {
    let userSeenAt = 0;
    const users = await startUpstream(t, 'users', (req, res, body) => {
      userSeenAt = Date.now();
      json(req.url === '/users/7' ? { customerId: 'c/9' } : { other: true }, 200, 100)(req, res, body);
    });
    let ordersSeenAt = 0;
    const orders = await startUpstream(t, 'orders', (req, res, body) => {
      ordersSeenAt = Date.now();
      json([{ id: 'o1' }])(req, res, body);
    });
    const gateway = await aggregateGateway(
      t,
      {
        calls: [
          { name: 'orders', service: 'orders', path: '/orders?customer={user.customerId}', required: false },
          { name: 'user', service: 'users', path: '/users/{params.id}' },
        ],
      },
      { users: users.port, orders: orders.port },
    );
    const response = await send(gateway.url, '/profile/7');
    assert.equal(response.status, 200, response.body);
    assert.deepEqual(bodyOf(response).data, { orders: [{ id: 'o1' }], user: { customerId: 'c/9' } });
    assert.equal(orders.seen[0]?.url, '/orders?customer=c%2F9');
    assert.ok(ordersSeenAt - userSeenAt >= 90, 'orders waited for the user body');

    const lacking = await send(gateway.url, '/profile/8');
    assert.equal(lacking.status, 200, 'the skipped call is optional');
    const body = bodyOf(lacking);
    assert.deepEqual(body.data, { user: { other: true } });
    assert.equal(body.calls.orders?.status, 'skipped');
    assert.deepEqual(body.calls.orders?.error, {
      code: 'SY_GATEWAY_AGGREGATE_CALL_SKIPPED',
      message: '{user.customerId}: the body of call "user" has no field "customerId"',
    });
    assert.equal(orders.seen.length, 1, 'the skipped call was never sent');
  });

  test('an optional call failing still answers 200 and lists the failure', async (t) => {
    const users = await startUpstream(t, 'users', json({ id: 'u1' }));
    const recs = await startUpstream(t, 'recs', json({ oops: true }, 500));
    const gateway = await aggregateGateway(
      t,
      {
        calls: [
          { name: 'user', service: 'users', path: '/users/{params.id}' },
          { name: 'recs', service: 'recs', path: '/recs', required: false },
        ],
      },
      { users: users.port, recs: recs.port },
    );
    const response = await send(gateway.url, '/profile/1');
    assert.equal(response.status, 200);
    const body = bodyOf(response);
    assert.deepEqual(body.data, { user: { id: 'u1' } }, 'a failed call contributes no data');
    assert.equal(body.calls.recs?.status, 'failed');
    assert.equal(body.calls.recs?.httpStatus, 500);
    assert.deepEqual(body.calls.recs?.error, {
      code: 'SY_GATEWAY_AGGREGATE_CALL_STATUS',
      message: 'call "recs" to recs answered 500',
    });
  });

  test('a required call answering 404 is a 502 that still carries the partial body; its dependents are skipped', async (t) => {
    const users = await startUpstream(t, 'users', json({ error: 'no such user' }, 404));
    const prefs = await startUpstream(t, 'prefs', json({ theme: 'dark' }));
    const gateway = await aggregateGateway(
      t,
      {
        calls: [
          { name: 'user', service: 'users', path: '/users/{params.id}' },
          { name: 'prefs', service: 'prefs', path: '/prefs' },
          { name: 'orders', service: 'prefs', path: '/orders/{user.id}', required: false },
        ],
      },
      { users: users.port, prefs: prefs.port },
    );
    const response = await send(gateway.url, '/profile/1', { headers: { 'x-request-id': 'r-404' } });
    assert.equal(response.status, 502);
    assert.equal(response.headers['x-request-id'], 'r-404');
    assert.equal(response.headers['retry-after'], undefined);
    const body = bodyOf(response);
    assert.deepEqual(body.error, {
      code: 'SY_GATEWAY_AGGREGATE_FAILED',
      message: 'required call "user" failed: call "user" to users answered 404',
      requestId: 'r-404',
    });
    assert.deepEqual(body.data, { prefs: { theme: 'dark' } });
    assert.equal(body.calls.user?.httpStatus, 404);
    assert.equal(body.calls.orders?.status, 'skipped');
    assert.match(body.calls.orders?.error?.message ?? '', /call "user", whose body the path reads, failed/);
  });

  test('a required call over its timeout is a 504; the others still answer', async (t) => {
    const held = await startRawUpstream(t, () => {
      // Never answers.
    });
    const prefs = await startUpstream(t, 'prefs', json({ theme: 'dark' }));
    const gateway = await aggregateGateway(
      t,
      {
        timeout: '5s',
        calls: [
          { name: 'user', service: 'users', path: '/users/{params.id}', timeout: '150ms' },
          { name: 'prefs', service: 'prefs', path: '/prefs' },
        ],
      },
      { users: held.port, prefs: prefs.port },
    );
    const started = Date.now();
    const response = await send(gateway.url, '/profile/1');
    const elapsed = Date.now() - started;
    assert.equal(response.status, 504);
    assert.ok(elapsed >= 140 && elapsed < 1_500, `answered after ${elapsed}ms`);
    const body = bodyOf(response);
    assert.equal(body.error?.code, 'SY_GATEWAY_AGGREGATE_TIMEOUT');
    assert.equal(body.calls.user?.status, 'timeout');
    assert.equal(body.calls.user?.error?.code, 'SY_GATEWAY_UPSTREAM_TIMEOUT');
    assert.deepEqual(body.data, { prefs: { theme: 'dark' } });
  });

  test('the aggregate deadline, and a shorter caller budget, cap every call', async (t) => {
    const held = await startRawUpstream(t, () => {
      // Never answers.
    });
    const gateway = await aggregateGateway(
      t,
      { timeout: '300ms', calls: [{ name: 'user', service: 'users', path: '/u', timeout: '10s' }] },
      { users: held.port },
    );
    let started = Date.now();
    const capped = await send(gateway.url, '/profile/1');
    let elapsed = Date.now() - started;
    assert.equal(capped.status, 504);
    assert.ok(elapsed >= 280 && elapsed < 2_000, `aggregate deadline: answered after ${elapsed}ms`);
    assert.match(bodyOf(capped).calls.user?.error?.message ?? '', /the aggregate deadline/);

    started = Date.now();
    const budget = await send(gateway.url, '/profile/1', { headers: { [TIMEOUT_HEADER]: '100' } });
    elapsed = Date.now() - started;
    assert.equal(budget.status, 504);
    assert.ok(elapsed >= 90 && elapsed < 280, `caller budget: answered after ${elapsed}ms`);
    assert.match(bodyOf(budget).calls.user?.error?.message ?? '', /switchyard-timeout-ms budget/);
  });

  test('a required call with no instance is a 503 with Retry-After', async (t) => {
    const prefs = await startUpstream(t, 'prefs', json({ theme: 'dark' }));
    const gateway = await aggregateGateway(
      t,
      {
        calls: [
          { name: 'user', service: 'users', path: '/users/{params.id}' },
          { name: 'prefs', service: 'prefs', path: '/prefs' },
        ],
      },
      { prefs: prefs.port },
    );
    const response = await send(gateway.url, '/profile/1');
    assert.equal(response.status, 503);
    assert.equal(response.headers['retry-after'], '1');
    const body = bodyOf(response);
    assert.equal(body.error?.code, 'SY_GATEWAY_AGGREGATE_UNAVAILABLE');
    assert.equal(body.calls.user?.error?.code, 'SY_GATEWAY_NO_HEALTHY_INSTANCE');
    assert.deepEqual(body.data, { prefs: { theme: 'dark' } });
  });

  test('a body over maxBodySize fails its call with a clear error', async (t) => {
    const big = await startUpstream(t, 'big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Streamed without Content-Length, so the bound is enforced while reading.
      res.write(`["${'x'.repeat(600)}",`);
      res.end(`"${'y'.repeat(600)}"]`);
    });
    const gateway = await aggregateGateway(
      t,
      { maxBodySize: '1kb', calls: [{ name: 'big', service: 'big', path: '/big' }] },
      { big: big.port },
    );
    const response = await send(gateway.url, '/profile/1');
    assert.equal(response.status, 502);
    const body = bodyOf(response);
    assert.equal(body.calls.big?.status, 'failed');
    assert.equal(body.calls.big?.httpStatus, 200);
    assert.deepEqual(body.calls.big?.error, {
      code: 'SY_GATEWAY_AGGREGATE_BODY_TOO_LARGE',
      message: 'call "big" to big: the body is larger than maxBodySize (1024 bytes): the response sent more than that',
    });
  });

  test('a client that disconnects aborts every call in flight', async (t) => {
    const arrived: Promise<unknown>[] = [];
    const closed: Promise<unknown>[] = [];
    let notify = () => {};
    const bothArrived = new Promise<void>((resolve) => {
      notify = resolve;
    });
    const held = await startRawUpstream(t, (req, res) => {
      closed.push(once(res, 'close'));
      arrived.push(Promise.resolve(req.url));
      if (arrived.length === 2) notify();
    });
    const gateway = await aggregateGateway(
      t,
      {
        timeout: '10s',
        calls: [
          { name: 'a', service: 'held', path: '/a' },
          { name: 'b', service: 'held', path: '/b' },
        ],
      },
      { held: held.port },
    );
    const target = new URL(gateway.url);
    const req = httpRequest({ host: target.hostname, port: target.port, path: '/profile/1', agent: false });
    req.on('error', () => {});
    req.end();
    await Promise.race([
      bothArrived,
      new Promise((_, reject) => setTimeout(() => reject(new Error('calls never arrived')), 3_000)),
    ]);
    const started = Date.now();
    req.destroy();
    await Promise.race([
      Promise.all(closed),
      new Promise((_, reject) => setTimeout(() => reject(new Error('calls were not aborted')), 3_000)),
    ]);
    assert.ok(Date.now() - started < 1_000, 'both backend requests were cut promptly');
  });

  test('only GET and HEAD are served; HEAD gets the headers without a body', async (t) => {
    const users = await startUpstream(t, 'users', json({ id: 'u1' }));
    const gateway = await aggregateGateway(
      t,
      { calls: [{ name: 'user', service: 'users', path: '/u' }] },
      {
        users: users.port,
      },
    );
    const post = await send(gateway.url, '/profile/1', { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal(users.seen.length, 0);
    const head = await send(gateway.url, '/profile/1', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.ok(Number(head.headers['content-length']) > 0);
  });
});
