import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import {
  createMetrics,
  extractContext,
  getTracer,
  type MetricsDisposable,
  SpanKind,
  type SpanStore,
  type StoredSpan,
  type SwitchyardMetrics,
  setGlobalMetrics,
  setupTelemetry,
  type Telemetry,
} from '@switchyard/telemetry';
import { SignJWT } from 'jose';
import { errorOf, send, startGateway, startUpstream, staticSource, type UpstreamHandler } from './fixtures.test.ts';
import { GatewayEvents } from './gateway-telemetry.ts';

// One telemetry setup for the file: the tracer provider and the metrics are process-wide, and the
// gateway resolves its metric handles when it is built. Each test reads its own trace or its own
// route and service names.
let telemetry: Telemetry;
let metrics: SwitchyardMetrics;
let restoreMetrics: MetricsDisposable;
let spans: SpanStore;

before(() => {
  telemetry = setupTelemetry({ serviceName: 'gateway-test', exporters: { otlp: false } });
  spans = telemetry.spanStore as SpanStore;
  metrics = createMetrics({ defaultMetrics: false });
  restoreMetrics = setGlobalMetrics(metrics);
});

after(async () => {
  restoreMetrics.dispose();
  await telemetry.shutdown();
});

const upstreamTracer = getTracer('test-upstream');

/** An upstream that continues the trace from the request headers, as an instrumented service does. */
function traced(handler: UpstreamHandler): UpstreamHandler {
  return (req, res, body) => {
    const span = upstreamTracer.startSpan(
      `${req.method} /upstream`,
      { kind: SpanKind.SERVER },
      extractContext(req.headers),
    );
    res.once('finish', () => span.end());
    handler(req, res, body);
  };
}

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}

/** Waits (up to 5 s) until the trace holds `count` spans; spans end when responses close. */
async function traceOf(traceId: string, count: number): Promise<StoredSpan[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = spans.trace(traceId);
    if (found.length >= count) return found;
    if (Date.now() > deadline) {
      assert.fail(
        `trace ${traceId} has ${found.length} spans, expected ${count}: ${found.map((s) => s.name).join(', ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The value of the sample `name{labels}` in the exposition, or undefined. Label order does not matter. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const got = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

/** Waits (up to 5 s) until `name{labels}` reads `expected` (request metrics land when the response closes). */
async function expectSample(name: string, labels: Record<string, string>, expected: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = sample(await metrics.text(), name, labels);
    if (value === expected) return;
    if (Date.now() > deadline) assert.fail(`${name}${JSON.stringify(labels)} is ${value}, expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function eventsOf(span: StoredSpan | undefined): string[] {
  return (span?.events ?? []).map((e) => e.name);
}

describe('gateway tracing', () => {
  test('one trace: the caller, the server span, a client span per attempt and the upstream spans', async (t) => {
    let calls = 0;
    const upstream = await startUpstream(
      t,
      'flaky',
      traced((_req, res) => {
        calls += 1;
        res.writeHead(calls === 1 ? 503 : 200, { 'content-type': 'text/plain' });
        res.end(calls === 1 ? 'busy' : 'ok');
      }),
    );
    const gateway = await startGateway(
      t,
      {
        routes: [
          {
            name: 'orders',
            path: '/api/orders',
            service: 'orders',
            retry: { attempts: 2, statuses: [503], backoff: { initial: 0, max: 0 } },
          },
        ],
      },
      staticSource({ orders: [upstream.instance('orders')] }),
    );
    const traceId = randomHex(16);
    const callerSpanId = randomHex(8);
    const response = await send(gateway.url, '/api/orders/7?x=1', {
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    assert.equal(response.status, 200);
    assert.equal(response.body, 'ok');

    const trace = await traceOf(traceId, 5);
    const server = trace.find((s) => s.kind === 'server' && s.scope === '@switchyard/gateway');
    assert.ok(server, 'a gateway server span');
    assert.equal(server.name, 'GET orders');
    assert.equal(server.parentSpanId, callerSpanId, 'continued from the caller');
    assert.equal(server.attributes['http.request.method'], 'GET');
    assert.equal(server.attributes['http.route'], '/api/orders');
    assert.equal(server.attributes['switchyard.route'], 'orders');
    assert.equal(server.attributes['url.path'], '/api/orders/7');
    assert.equal(server.attributes['url.query'], 'x=1');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.status.code, 'unset');
    assert.ok(eventsOf(server).includes('switchyard.retry'), `retry event, got ${eventsOf(server).join(', ')}`);

    const clients = trace.filter((s) => s.kind === 'client').sort((a, b) => a.startTimeUs - b.startTimeUs);
    assert.equal(clients.length, 2, 'one client span per attempt');
    for (const c of clients) {
      assert.equal(c.name, 'GET');
      assert.equal(c.parentSpanId, server.spanId);
      assert.equal(c.attributes['server.address'], '127.0.0.1');
      assert.equal(c.attributes['server.port'], upstream.port);
      assert.equal(c.attributes['url.full'], `http://127.0.0.1:${upstream.port}/7?x=1`);
      assert.equal(c.attributes['switchyard.upstream.service'], 'orders');
    }
    const [first, second] = clients as [StoredSpan, StoredSpan];
    assert.equal(first.attributes['http.response.status_code'], 503);
    assert.equal(first.attributes['error.type'], '503');
    assert.equal(first.status.code, 'error');
    assert.equal(first.attributes['http.request.resend_count'], undefined);
    assert.equal(second.attributes['http.response.status_code'], 200);
    assert.equal(second.attributes['http.request.resend_count'], 1);
    assert.equal(second.attributes['switchyard.attempt'], 2);

    const upstreamSpans = trace.filter((s) => s.scope === 'test-upstream');
    assert.equal(upstreamSpans.length, 2);
    assert.deepEqual(
      upstreamSpans.map((s) => s.parentSpanId).sort(),
      clients.map((c) => c.spanId).sort(),
      'each upstream span continues the client span of its attempt (traceparent injected per attempt)',
    );
    assert.ok(
      upstream.seen.every((r) => String(r.headers.traceparent).split('-')[1] === traceId),
      'the upstream saw the trace id',
    );
  });

  test('a 5xx the gateway answers is an error with the code as error.type', async (t) => {
    const gateway = await startGateway(
      t,
      { routes: [{ name: 'nowhere', path: '/nowhere', service: 'missing' }] },
      staticSource({}),
    );
    const traceId = randomHex(16);
    const response = await send(gateway.url, '/nowhere', {
      headers: { traceparent: `00-${traceId}-${randomHex(8)}-01` },
    });
    assert.equal(response.status, 503);
    const [server] = await traceOf(traceId, 1);
    assert.equal(server?.status.code, 'error');
    assert.equal(server?.attributes['error.type'], 'SY_GATEWAY_NO_HEALTHY_INSTANCE');
    assert.equal(server?.attributes['http.response.status_code'], 503);
    assert.ok(eventsOf(server).includes('exception'));
  });

  test('auth rejected (401) and rate limited (429) are span events, decisions are counted', async (t) => {
    const upstream = await startUpstream(t, 'secure');
    const secret = 'a-secret-of-at-least-thirty-two-characters!';
    const gateway = await startGateway(
      t,
      {
        routes: [
          {
            name: 'secure',
            path: '/secure',
            service: 'secure',
            middleware: [
              { jwt: { secret, algorithms: ['HS256'], issuer: 'test', audience: 'shop' } },
              { rateLimit: { limit: 1, period: '1m', key: 'jwt-sub' } },
            ],
          },
        ],
      },
      staticSource({ secure: [upstream.instance('secure')] }),
    );
    const token = await new SignJWT({ sub: 'ann' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('test')
      .setAudience('shop')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));

    const anonymousTrace = randomHex(16);
    const anonymous = await send(gateway.url, '/secure', {
      headers: { traceparent: `00-${anonymousTrace}-${randomHex(8)}-01` },
    });
    assert.equal(anonymous.status, 401);
    const [rejected] = await traceOf(anonymousTrace, 1);
    const authEvent = rejected?.events.find((e) => e.name === GatewayEvents.AuthRejected);
    assert.ok(authEvent, `auth event, got ${eventsOf(rejected).join(', ')}`);
    assert.equal(authEvent.attributes['switchyard.error.code'], 'SY_GATEWAY_UNAUTHENTICATED');
    assert.equal(authEvent.attributes['switchyard.auth.reason'], 'missing_credentials');
    assert.equal(rejected?.status.code, 'unset', 'a 4xx is not a server error');

    const badTrace = randomHex(16);
    const bad = await send(gateway.url, '/secure', {
      headers: { authorization: `Bearer ${token}x`, traceparent: `00-${badTrace}-${randomHex(8)}-01` },
    });
    assert.equal(bad.status, 401);
    const [badSpan] = await traceOf(badTrace, 1);
    assert.equal(
      badSpan?.events.find((e) => e.name === GatewayEvents.AuthRejected)?.attributes['switchyard.auth.reason'],
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    );

    const okTrace = randomHex(16);
    assert.equal(
      (
        await send(gateway.url, '/secure', {
          headers: { authorization: `Bearer ${token}`, traceparent: `00-${okTrace}-${randomHex(8)}-01` },
        })
      ).status,
      200,
    );
    const okServer = (await traceOf(okTrace, 2)).find((s) => s.kind === 'server');
    assert.equal(okServer?.attributes['switchyard.rate_limit.decision'], 'allowed');

    const limitedTrace = randomHex(16);
    const limited = await send(gateway.url, '/secure', {
      headers: { authorization: `Bearer ${token}`, traceparent: `00-${limitedTrace}-${randomHex(8)}-01` },
    });
    assert.equal(limited.status, 429);
    assert.equal(errorOf(limited).code, 'SY_GATEWAY_RATE_LIMITED');
    const [limitedSpan] = await traceOf(limitedTrace, 1);
    const limitEvent = limitedSpan?.events.find((e) => e.name === GatewayEvents.RateLimited);
    assert.ok(limitEvent, `rate limit event, got ${eventsOf(limitedSpan).join(', ')}`);
    assert.ok(Number(limitEvent.attributes['switchyard.rate_limit.retry_after_ms']) > 0);
    assert.equal(limitedSpan?.attributes['switchyard.rate_limit.decision'], 'limited');

    await expectSample('switchyard_rate_limit_decisions_total', { route: 'secure', decision: 'allowed' }, 1);
    await expectSample('switchyard_rate_limit_decisions_total', { route: 'secure', decision: 'limited' }, 1);
    await expectSample(
      'switchyard_http_server_requests_total',
      { route: 'secure', method: 'GET', status_class: '4xx' },
      3,
    );
    await expectSample(
      'switchyard_http_server_requests_total',
      { route: 'secure', method: 'GET', status_class: '2xx' },
      1,
    );
  });

  test('a CORS preflight answered by the gateway is an event', async (t) => {
    const upstream = await startUpstream(t, 'web');
    const gateway = await startGateway(
      t,
      {
        routes: [
          {
            name: 'web',
            path: '/web',
            service: 'web',
            middleware: [{ cors: { origins: ['https://shop.example'] } }],
          },
        ],
      },
      staticSource({ web: [upstream.instance('web')] }),
    );
    const traceId = randomHex(16);
    const preflight = await send(gateway.url, '/web', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        traceparent: `00-${traceId}-${randomHex(8)}-01`,
      },
    });
    assert.equal(preflight.status, 204);
    const [server] = await traceOf(traceId, 1);
    const event = server?.events.find((e) => e.name === GatewayEvents.CorsPreflight);
    assert.equal(event?.attributes['switchyard.cors.allowed'], true);
    assert.equal(upstream.seen.length, 0);
  });
});

describe('gateway metrics', () => {
  test('requests by route, method and status class; upstream attempts, failures and the breaker state', async (t) => {
    const failing = await startUpstream(
      t,
      'failing',
      traced((_req, res) => {
        res.writeHead(500);
        res.end('boom');
      }),
    );
    const healthy = await startUpstream(t, 'healthy');
    const gateway = await startGateway(
      t,
      {
        routes: [
          {
            name: 'pay',
            path: '/pay',
            service: 'payments',
            breaker: { trip: { type: 'consecutive', failures: 2 }, openDuration: '30s' },
          },
          { name: 'catalog', path: '/catalog', service: 'catalog' },
        ],
        admin: { host: '127.0.0.1', port: 0 },
      },
      staticSource({ payments: [failing.instance('payments')], catalog: [healthy.instance('catalog')] }),
    );
    for (let i = 0; i < 3; i++) assert.equal((await send(gateway.url, '/catalog')).status, 200);
    assert.equal((await send(gateway.url, '/catalog', { method: 'POST', body: 'x' })).status, 200);
    assert.equal((await send(gateway.url, '/nothing-here')).status, 404);
    assert.equal((await send(gateway.url, '/pay')).status, 500);
    const trippingTrace = randomHex(16);
    assert.equal(
      (await send(gateway.url, '/pay', { headers: { traceparent: `00-${trippingTrace}-${randomHex(8)}-01` } })).status,
      500,
    );
    const openTrace = randomHex(16);
    const open = await send(gateway.url, '/pay', { headers: { traceparent: `00-${openTrace}-${randomHex(8)}-01` } });
    assert.equal(errorOf(open).code, 'SY_RESILIENCE_CIRCUIT_OPEN');

    const http = 'switchyard_http_server_requests_total';
    await expectSample(http, { route: 'catalog', method: 'GET', status_class: '2xx' }, 3);
    await expectSample(http, { route: 'catalog', method: 'POST', status_class: '2xx' }, 1);
    await expectSample(http, { route: 'unmatched', method: 'GET', status_class: '4xx' }, 1);
    await expectSample(http, { route: 'pay', method: 'GET', status_class: '5xx' }, 3);
    await expectSample(
      'switchyard_http_server_request_duration_seconds_count',
      { route: 'catalog', method: 'GET', status_class: '2xx' },
      3,
    );
    await expectSample('switchyard_http_server_requests_in_flight', { route: 'catalog' }, 0);

    const attempts = 'switchyard_upstream_attempts_total';
    await expectSample(attempts, { service: 'catalog', instance: 'catalog-healthy', outcome: 'success' }, 4);
    await expectSample(attempts, { service: 'payments', instance: 'payments-failing', outcome: 'failure' }, 3);
    const failures = 'switchyard_upstream_failures_total';
    await expectSample(failures, { service: 'payments', instance: 'payments-failing', reason: 'status' }, 2);
    await expectSample(failures, { service: 'payments', instance: 'payments-failing', reason: 'circuit_open' }, 1);
    const breaker = 'switchyard_upstream_breaker_state';
    await expectSample(breaker, { service: 'payments', state: 'open' }, 1);
    await expectSample(breaker, { service: 'payments', state: 'closed' }, 0);
    await expectSample(breaker, { service: 'catalog', state: 'closed' }, 1);
    await expectSample(
      'switchyard_upstream_breaker_transitions_total',
      { service: 'payments', from: 'closed', to: 'open' },
      1,
    );

    // The trip happened during the second request: its span has the state change; the third was refused.
    const tripping = (await traceOf(trippingTrace, 3)).find(
      (s) => s.kind === 'server' && s.scope === '@switchyard/gateway',
    );
    const change = tripping?.events.find((e) => e.name === 'switchyard.circuit.state_change');
    assert.ok(change, `state change event, got ${eventsOf(tripping).join(', ')}`);
    assert.equal(change.attributes['switchyard.circuit.state'], 'open');
    const refused = (await traceOf(openTrace, 1)).find((s) => s.kind === 'server');
    assert.ok(eventsOf(refused).includes('switchyard.circuit.rejected'));
    assert.equal(refused?.attributes['error.type'], 'SY_RESILIENCE_CIRCUIT_OPEN');

    // The admin port serves the same exposition, and promtool accepts it.
    assert.ok(gateway.adminUrl);
    const scraped = await send(gateway.adminUrl, '/metrics');
    assert.equal(scraped.status, 200);
    assert.match(String(scraped.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(scraped.body, http, { route: 'catalog', method: 'GET', status_class: '2xx' }), 3);
    const lint = await promtool(scraped.body);
    assert.equal(lint.code, 0, `promtool check metrics failed:\n${lint.output}`);
    assert.equal((await send(gateway.adminUrl, '/metrics', { method: 'POST' })).status, 405);
  });
});

describe('outlier ejection', () => {
  test('an ejected instance is counted per service and is an event on the request that ejected it', async (t) => {
    const bad = await startUpstream(t, 'bad', (_req, res) => {
      res.writeHead(500);
      res.end('boom');
    });
    const good = await startUpstream(t, 'good');
    const gateway = await startGateway(
      t,
      {
        routes: [
          {
            name: 'stock',
            path: '/stock',
            service: 'stock',
            // A breaker that never trips here, so every request reaches the balancer.
            breaker: { trip: { type: 'consecutive', failures: 1000 } },
          },
        ],
      },
      staticSource({ stock: [bad.instance('stock'), good.instance('stock')] }),
    );
    let ejectingTrace: string | undefined;
    for (let i = 0; i < 40 && ejectingTrace === undefined; i++) {
      const traceId = randomHex(16);
      const before = bad.seen.length;
      await send(gateway.url, '/stock', { headers: { traceparent: `00-${traceId}-${randomHex(8)}-01` } });
      const server = (await traceOf(traceId, 2)).find((s) => s.kind === 'server');
      if (eventsOf(server).includes(GatewayEvents.InstanceEjected)) {
        ejectingTrace = traceId;
        const event = server?.events.find((e) => e.name === GatewayEvents.InstanceEjected);
        assert.equal(event?.attributes['switchyard.upstream.service'], 'stock');
        assert.equal(event?.attributes['switchyard.upstream.instance'], 'stock-bad');
        assert.equal(bad.seen.length, before, 'the request that ejected the instance went to the other one');
      }
    }
    assert.ok(ejectingTrace, `no request ejected the failing instance (it saw ${bad.seen.length} requests)`);
    await expectSample('switchyard_upstream_ejections_total', { service: 'stock' }, 1);
  });
});

/** Runs `promtool check metrics` on `text`; fails (never skips) when promtool is missing. */
function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.PROMTOOL ?? 'promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('promtool check metrics did not finish within 10 s'));
    }, 10_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new Error(
              'promtool was not found; this test needs it and does not skip. Install it: apt-get install prometheus',
            )
          : err,
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(text);
  });
}
