import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, type TestContext, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { attachDeadline, createBreakerRegistry, TIMEOUT_HEADER } from '@switchyard/resilience';
import { httpOutcomeClassifier } from './breaker-defaults.ts';
import {
  closedPort,
  echo,
  fastRetry,
  instanceAt,
  startRawServer,
  startServer,
  staticDiscovery,
  status,
  within,
} from './fixtures.test.ts';
import { createHttpClient, type HttpClient, type HttpRetryEvent } from './http-client.ts';
import type { HttpClientOptions } from './options.ts';

function clientFor(t: TestContext, options: HttpClientOptions): HttpClient {
  const client = createHttpClient(options);
  t.after(() => client.close());
  return client;
}

/** A signal carrying a deadline `ms` from now, as a timeout policy or `requestSignal` hands over. */
function signalWithin(ms: number): AbortSignal {
  const signal = new AbortController().signal;
  attachDeadline(signal, Date.now() + ms);
  return signal;
}

describe('requests', () => {
  test('GET resolves with status, headers, a streamed body and the instance', async (t) => {
    const a = await startServer(t, 'a');
    const client = clientFor(t, {
      discovery: staticDiscovery({ orders: [a.instance('orders')] }),
      headers: { 'User-Agent': 'orders-client' },
    });
    const res = await client.request('orders', {
      path: '/orders/42?x=1',
      query: { tag: ['a b', 'c'], page: 2, skip: undefined },
      headers: { 'x-trace': 't1' },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-server'], 'a');
    assert.equal(res.instance.id, 'orders-a');
    assert.equal(res.attempts, 1);
    assert.deepEqual(await res.body.json(), {
      server: 'a',
      method: 'GET',
      url: '/orders/42?x=1&tag=a+b&tag=c&page=2',
      body: '',
    });
    assert.equal(a.seen[0]?.headers['user-agent'], 'orders-client');
    assert.equal(a.seen[0]?.headers['x-trace'], 't1');
    assert.equal(a.seen[0]?.headers[TIMEOUT_HEADER], undefined, 'no deadline, no budget header');
  });

  test('critical instances are skipped; none left is SY_CLIENT_NO_INSTANCE; a failing lookup is SY_CLIENT_DISCOVERY_FAILED', async (t) => {
    const a = await startServer(t, 'a');
    const sick = { ...instanceAt('orders', await closedPort(), 'orders-sick'), status: 'critical' as const };
    const client = clientFor(t, {
      retry: false,
      discovery: {
        async instances(service) {
          if (service === 'broken') throw new Error('registry unreachable');
          if (service === 'orders') return [sick, a.instance('orders')];
          return [sick];
        },
      },
    });
    for (let i = 0; i < 3; i++) assert.equal((await client.request('orders', { path: '/' })).instance.id, 'orders-a');
    await assert.rejects(client.request('sick', { path: '/' }), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CLIENT_NO_INSTANCE'));
      assert.equal(err.message, 'no usable instance of service "sick"');
      return true;
    });
    await assert.rejects(client.request('broken', { path: '/' }), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CLIENT_DISCOVERY_FAILED'));
      assert.match(err.message, /service "broken" failed: registry unreachable/);
      assert.equal((err.cause as Error).message, 'registry unreachable');
      return true;
    });
  });

  test('bad request options fail with SY_CONFIG_INVALID naming the field', async (t) => {
    const client = clientFor(t, { discovery: staticDiscovery({}) });
    await assert.rejects(client.request('orders', { path: 'orders' }), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
      assert.match(err.message, /request\.path: expected a path starting with "\/", got "orders"/);
      return true;
    });
    await assert.rejects(
      client.request('orders', { path: '/', timeout: 'soon' }),
      /request\.timeout: expected a duration/,
    );
    await assert.rejects(
      client.request('orders', { path: '/', retry: { maxAttempts: 0 } }),
      /request\.retry\.maxAttempts/,
    );
    await assert.rejects(client.request('orders', { path: '/', method: 'GET /x' }), /request\.method/);
  });
});

describe('retries', () => {
  test('a 503 is retried on another instance, and its body is discarded', async (t) => {
    const a = await startServer(t, 'a', status('a', 503));
    const b = await startServer(t, 'b');
    const client = clientFor(t, {
      discovery: staticDiscovery({ svc: [a.instance('svc'), b.instance('svc')] }),
      retry: fastRetry,
    });
    const events: HttpRetryEvent[] = [];
    client.onRetry((event) => events.push(event));
    const res = await client.request('svc', { path: '/x' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.instance.id, 'svc-b');
    assert.equal(res.attempts, 2);
    await res.body.dump();
    assert.equal(a.seen.length, 1);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.attempt, 2);
    assert.equal(events[0]?.statusCode, 503);
    assert.equal(events[0]?.previousInstance?.id, 'svc-a');
    assert.equal(events[0]?.instance.id, 'svc-b');
  });

  test('a connection refused is retried on another instance', async (t) => {
    const b = await startServer(t, 'b');
    const dead = instanceAt('svc', await closedPort(), 'svc-dead');
    const client = clientFor(t, { discovery: staticDiscovery({ svc: [dead, b.instance('svc')] }), retry: fastRetry });
    const res = await client.request('svc', { method: 'DELETE', path: '/7' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.instance.id, 'svc-b');
    await res.body.dump();
  });

  test('with retries exhausted the last 5xx response is returned; a 500 is not retried', async (t) => {
    let calls = 0;
    const a = await startServer(t, 'a', (req, res, body, n) => {
      calls = n;
      status('a', req.url === '/500' ? 500 : 502)(req, res, body, n);
    });
    const client = clientFor(t, { discovery: staticDiscovery({ svc: [a.instance('svc')] }), retry: fastRetry });
    const res = await client.request('svc', { path: '/502' });
    assert.equal(res.statusCode, 502);
    assert.equal(res.attempts, 3);
    assert.equal(await res.body.text(), 'a says 502', 'the returned body is intact');
    assert.equal(calls, 3);
    const internal = await client.request('svc', { path: '/500' });
    assert.equal(internal.statusCode, 500);
    await internal.body.dump();
    assert.equal(calls, 4, 'a 500 is not retried by default');
  });

  test('a POST without Idempotency-Key is never retried, even on a refused connection', async (t) => {
    const a = await startServer(t, 'a', status('a', 503));
    const b = await startServer(t, 'b');
    const dead = instanceAt('svc', await closedPort(), 'svc-dead');
    const client = clientFor(t, {
      discovery: staticDiscovery({ svc: [a.instance('svc'), b.instance('svc')], down: [dead, b.instance('down')] }),
      retry: fastRetry,
    });
    const res = await client.request('svc', { method: 'POST', path: '/orders', body: '{"item":"book"}' });
    assert.equal(res.statusCode, 503);
    await res.body.dump();
    await assert.rejects(client.request('down', { method: 'POST', path: '/orders', body: 'x' }), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CLIENT_CONNECT_FAILED'));
      assert.match(err.message, /^could not connect to down \(127\.0\.0\.1:\d+\): connect ECONNREFUSED/);
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      return true;
    });
    assert.equal(b.seen.length, 0);
  });

  test('a POST with an Idempotency-Key is retried, with the same body and key', async (t) => {
    const a = await startServer(t, 'a', status('a', 503));
    const b = await startServer(t, 'b');
    const client = clientFor(t, {
      discovery: staticDiscovery({ svc: [a.instance('svc'), b.instance('svc')] }),
      retry: fastRetry,
    });
    const res = await client.request('svc', {
      method: 'POST',
      path: '/orders',
      body: '{"item":"book"}',
      idempotencyKey: 'order-42',
    });
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { body: string }).body, '{"item":"book"}');
    assert.equal(a.seen[0]?.headers['idempotency-key'], 'order-42');
    assert.equal(b.seen[0]?.headers['idempotency-key'], 'order-42');
    const viaHeader = await client.request('svc', {
      method: 'POST',
      path: '/orders',
      body: 'again',
      headers: { 'Idempotency-Key': 'order-43' },
    });
    assert.equal(viaHeader.statusCode, 200);
    await viaHeader.body.dump();
  });

  test('Retry-After on a 429 is honoured; a 429 without it and a too long Retry-After are returned', async (t) => {
    const a = await startServer(t, 'a', (req, res, body, n) => {
      if (req.url === '/limited' && n === 1) status('a', 429, { 'retry-after': '1' })(req, res, body, n);
      else if (req.url === '/bare') status('a', 429)(req, res, body, n);
      else if (req.url === '/later') status('a', 503, { 'retry-after': '60' })(req, res, body, n);
      else echo('a')(req, res, body, n);
    });
    const client = clientFor(t, { discovery: staticDiscovery({ svc: [a.instance('svc')] }), retry: fastRetry });
    const started = Date.now();
    const res = await client.request('svc', { path: '/limited' });
    const waited = Date.now() - started;
    assert.equal(res.statusCode, 200);
    assert.equal(res.attempts, 2);
    await res.body.dump();
    assert.ok(waited >= 950, `retried after ${waited}ms, before the 1s Retry-After`);

    const bare = await client.request('svc', { path: '/bare' });
    assert.equal(bare.statusCode, 429);
    assert.equal(bare.attempts, 1);
    await bare.body.dump();
    const later = await client.request('svc', { path: '/later' });
    assert.equal(later.statusCode, 503);
    assert.equal(later.attempts, 1, 'Retry-After: 60 exceeds maxRetryAfter (5s)');
    assert.equal(await later.body.text(), 'a says 503');
  });

  test('a streamed body is resent after a refused connection but not after it was read', async (t) => {
    const b = await startServer(t, 'b');
    const failing = await startServer(t, 'failing', status('failing', 503));
    const dead = instanceAt('svc', await closedPort(), 'svc-dead');
    const client = clientFor(t, {
      discovery: staticDiscovery({
        svc: [dead, b.instance('svc')],
        flaky: [failing.instance('flaky'), b.instance('flaky')],
      }),
      retry: fastRetry,
    });
    const put = await client.request('svc', {
      method: 'PUT',
      path: '/file',
      body: Readable.from(['chunk-1 ', 'chunk-2']),
    });
    assert.equal(put.statusCode, 200);
    assert.equal(
      ((await put.body.json()) as { body: string }).body,
      'chunk-1 chunk-2',
      'the whole stream reached the second instance',
    );

    const read = await client.request('flaky', { method: 'PUT', path: '/file', body: Readable.from(['data']) });
    assert.equal(read.statusCode, 503, 'the 503 came after the body was sent: not replayable');
    await read.body.dump();
    assert.equal(failing.seen.length, 1);
    assert.equal(b.seen.length, 1);
  });
});

describe('circuit breaker', () => {
  test('opens after failures, refuses without contacting the upstream, and recovers after the open period', async (t) => {
    let healthy = false;
    const a = await startServer(t, 'a', (req, res, body, n) =>
      healthy ? echo('a')(req, res, body, n) : status('a', 500)(req, res, body, n),
    );
    const breakers = createBreakerRegistry({
      defaults: { trip: { type: 'consecutive', failures: 2 }, openDuration: '200ms', classify: httpOutcomeClassifier },
    });
    const client = clientFor(t, { discovery: staticDiscovery({ svc: [a.instance('svc')] }), breakers, retry: false });
    for (let i = 0; i < 2; i++) {
      const res = await client.request('svc', { path: '/' });
      assert.equal(res.statusCode, 500);
      await res.body.dump();
    }
    await assert.rejects(client.request('svc', { path: '/' }), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_RESILIENCE_CIRCUIT_OPEN'));
      return true;
    });
    assert.equal(a.seen.length, 2, 'the open breaker refused without sending');
    assert.equal(client.breakers.get('svc').state, 'open');
    healthy = true;
    await new Promise((resolve) => setTimeout(resolve, 250));
    const res = await client.request('svc', { path: '/' });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.equal(client.breakers.get('svc').state, 'closed');
  });

  test('4xx responses do not trip it; connection failures do', async (t) => {
    const a = await startServer(t, 'a', status('a', 404));
    const dead = instanceAt('down', await closedPort(), 'down-1');
    const breakers = createBreakerRegistry({
      defaults: { trip: { type: 'consecutive', failures: 2 }, openDuration: '10s', classify: httpOutcomeClassifier },
    });
    const client = clientFor(t, {
      discovery: staticDiscovery({ svc: [a.instance('svc')], down: [dead] }),
      breakers,
      retry: false,
    });
    for (let i = 0; i < 5; i++) {
      const res = await client.request('svc', { path: '/missing' });
      assert.equal(res.statusCode, 404);
      await res.body.dump();
    }
    assert.equal(client.breakers.get('svc').state, 'closed');
    for (let i = 0; i < 2; i++)
      await assert.rejects(client.request('down', { path: '/' }), { code: 'SY_CLIENT_CONNECT_FAILED' });
    await assert.rejects(client.request('down', { path: '/' }), { code: 'SY_RESILIENCE_CIRCUIT_OPEN' });
  });
});

describe('timeouts and deadlines', () => {
  test('the attempt timeout aborts the upstream request', async (t) => {
    const closed = Promise.withResolvers<void>();
    const held = await startRawServer(t, (req) => {
      req.socket.once('close', () => closed.resolve());
    });
    const client = clientFor(t, { discovery: staticDiscovery({ slow: [held.instance('slow')] }), retry: false });
    const started = Date.now();
    await assert.rejects(client.request('slow', { path: '/', timeout: '150ms' }), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CLIENT_TIMEOUT'));
      assert.equal(err.message, `slow (127.0.0.1:${held.port}) did not send headers within 150ms`);
      assert.equal(err.details.timeoutMs, 150);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 2_000, `gave up after ${elapsed}ms`);
    await within(closed.promise, 5_000, 'the upstream connection closing');
  });

  test('a timed-out GET is retried on another instance', async (t) => {
    const held = await startRawServer(t, () => {});
    const b = await startServer(t, 'b');
    const client = clientFor(t, {
      discovery: staticDiscovery({ svc: [held.instance('svc'), b.instance('svc')] }),
      timeout: '100ms',
      retry: fastRetry,
    });
    const res = await client.request('svc', { path: '/' });
    assert.equal(res.instance.id, 'svc-b');
    await res.body.dump();
  });

  test('the remaining budget is sent in switchyard-timeout-ms, replacing a caller-supplied one', async (t) => {
    const a = await startServer(t, 'a');
    const client = clientFor(t, { discovery: staticDiscovery({ svc: [a.instance('svc')] }) });
    const res = await client.request('svc', {
      path: '/',
      signal: signalWithin(1_000),
      headers: { [TIMEOUT_HEADER]: '999999' },
    });
    await res.body.dump();
    const sent = Number(a.seen[0]?.headers[TIMEOUT_HEADER]);
    assert.ok(sent > 500 && sent <= 1_000, `sent ${sent}`);
  });

  test('the deadline caps the attempt timeout, and its expiry is not retried nor held against the breaker', async (t) => {
    const held = await startRawServer(t, () => {});
    const b = await startServer(t, 'b');
    const client = clientFor(t, {
      discovery: staticDiscovery({ svc: [held.instance('svc'), b.instance('svc')] }),
      timeout: '10s',
      retry: fastRetry,
    });
    const started = Date.now();
    await assert.rejects(client.request('svc', { path: '/', signal: signalWithin(200) }), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CLIENT_TIMEOUT'));
      assert.equal(err.details.deadline, true);
      assert.match(err.message, /within \d+ms \(the caller's remaining deadline\)$/);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 150 && elapsed < 2_000, `gave up after ${elapsed}ms`);
    assert.equal(b.seen.length, 0, 'no time was left for a retry');
    assert.equal(client.breakers.get('svc').snapshot().totals.failures, 0);
  });

  test('a spent budget is refused at once, without a lookup or a request', async (t) => {
    const a = await startServer(t, 'a');
    const discovery = staticDiscovery({ svc: [a.instance('svc')] });
    const client = clientFor(t, { discovery });
    await assert.rejects(client.request('svc', { path: '/', signal: signalWithin(-1) }), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_RESILIENCE_DEADLINE_EXCEEDED'));
      assert.match(err.message, /already spent; nothing was sent/);
      return true;
    });
    assert.equal(discovery.lookups, 0);
    assert.equal(a.seen.length, 0);
  });

  test('an aborted signal cancels the request and the upstream exchange', async (t) => {
    const arrived = Promise.withResolvers<void>();
    const closed = Promise.withResolvers<void>();
    const held = await startRawServer(t, (req) => {
      req.socket.once('close', () => closed.resolve());
      arrived.resolve();
    });
    const client = clientFor(t, { discovery: staticDiscovery({ svc: [held.instance('svc')] }) });
    const controller = new AbortController();
    const pending = client.request('svc', { path: '/', signal: controller.signal });
    await within(arrived.promise, 5_000, 'the request arriving');
    controller.abort(new Error('caller left'));
    await assert.rejects(pending, (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CANCELLED'));
      assert.equal((err.cause as Error).message, 'caller left');
      return true;
    });
    await within(closed.promise, 5_000, 'the upstream connection closing');
  });
});

describe('lifecycle', () => {
  test('close is idempotent and later requests fail with SY_CLIENT_CLOSED', async (t) => {
    const a = await startServer(t, 'a');
    const client = createHttpClient({ discovery: staticDiscovery({ svc: [a.instance('svc')] }) });
    const res = await client.request('svc', { path: '/' });
    await res.body.dump();
    const closing = client.close();
    assert.equal(client.close(), closing);
    await closing;
    await assert.rejects(client.request('svc', { path: '/' }), { code: 'SY_CLIENT_CLOSED' });
    assert.equal(a.seen.length, 1);
  });

  test('invalid options fail with SY_CONFIG_INVALID naming each field', () => {
    assert.throws(
      () => createHttpClient({ discovery: staticDiscovery({}), timeout: 'soon', retry: { maxAtempts: 2 } as never }),
      (err) => {
        assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
        assert.match(err.message, /client\.timeout: expected a duration/);
        assert.match(err.message, /client\.retry\.maxAtempts: unknown field \(did you mean "maxAttempts"\?\)/);
        return true;
      },
    );
    assert.throws(() => createHttpClient({} as never), /client\.discovery: /);
  });

  test('a given dispatcher is not closed by the client', async (t) => {
    const a = await startServer(t, 'a');
    const { Agent } = await import('undici');
    const agent = new Agent();
    t.after(() => agent.close());
    const client = createHttpClient({ discovery: staticDiscovery({ svc: [a.instance('svc')] }), dispatcher: agent });
    await client.close();
    assert.equal(agent.closed, false);
    const res = await agent.request({ origin: `http://127.0.0.1:${a.port}`, path: '/', method: 'GET' });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  });
});
