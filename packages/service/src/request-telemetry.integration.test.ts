import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import {
  activeSpan,
  createMetrics,
  globalMetrics,
  noopMetrics,
  type StoredSpan,
  setGlobalMetrics,
  setupTelemetry,
  type Telemetry,
  traced,
} from '@switchyard/telemetry';
import { startOtlpReceiver } from '@switchyard/telemetry/testing';
import { type RunningService, type StartServiceOptions, startService } from './start-service.ts';

const quiet = { info() {}, warn() {}, error() {} };
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options: Omit<StartServiceOptions, 'name' | 'logger' | 'handleSignals'>): Promise<RunningService> {
  const service = await startService({ name: 'orders', port: 0, handleSignals: false, logger: quiet, ...options });
  cleanups.push(() => service.close());
  return service;
}

function telemetry(): Telemetry {
  const t = setupTelemetry({ serviceName: 'orders', exporters: { otlp: false } });
  cleanups.push(() => t.shutdown());
  return t;
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const serverSpans = (t: Telemetry, traceId: string) =>
  (t.spanStore?.trace(traceId) ?? []).filter((s) => s.kind === 'server');

/** `promtool check metrics` on an exposition; fails (never skips) when promtool is missing. */
function promtool(exposition: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.PROMTOOL ?? 'promtool', ['check', 'metrics'], { stdio: 'pipe' });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new Error(
          err.code === 'ENOENT'
            ? 'promtool not found: this test needs it and does not skip. Install it with: apt-get install prometheus (or set PROMTOOL)'
            : `promtool could not run: ${err.message}`,
        ),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.trim() });
    });
    child.stdin.end(exposition);
  });
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('startService tracing', () => {
  it('makes a server span per request, continuing the caller and parenting the handler’s spans', async () => {
    const t = telemetry();
    const service = await serve({
      routeOf: (req) => (req.url?.startsWith('/orders/') ? '/orders/:id' : undefined),
      handler: async (_req, res) => {
        await traced('load-order', async () => {
          await new Promise((r) => setImmediate(r));
        });
        res.end('ok');
      },
    });
    const res = await fetch(`${service.url}/orders/42?expand=items`, {
      headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`, 'user-agent': 'svctel-test' },
    });
    assert.equal(await res.text(), 'ok');

    const [server] = await until('the server span', () => {
      const spans = serverSpans(t, TRACE_ID);
      return spans.length > 0 ? spans : undefined;
    });
    assert.ok(server);
    assert.equal(server.name, 'GET /orders/:id');
    assert.equal(server.parentSpanId, CALLER_SPAN, 'parent extracted from traceparent');
    assert.equal(server.scope, '@switchyard/service');
    assert.equal(server.status.code, 'unset');
    assert.deepEqual(
      {
        method: server.attributes['http.request.method'],
        route: server.attributes['http.route'],
        path: server.attributes['url.path'],
        query: server.attributes['url.query'],
        status: server.attributes['http.response.status_code'],
        address: server.attributes['server.address'],
        port: server.attributes['server.port'],
        peer: server.attributes['network.peer.address'],
        agent: server.attributes['user_agent.original'],
      },
      {
        method: 'GET',
        route: '/orders/:id',
        path: '/orders/42',
        query: 'expand=items',
        status: 200,
        address: '127.0.0.1',
        port: service.port,
        peer: '127.0.0.1',
        agent: 'svctel-test',
      },
    );
    const child = t.spanStore?.trace(TRACE_ID).find((s) => s.name === 'load-order');
    assert.equal(child?.parentSpanId, server.spanId, 'a span made inside the handler is the server span’s child');
  });

  it('names the span by the method alone without a route, and starts a new trace without traceparent', async () => {
    const t = telemetry();
    const service = await serve({ handler: (_req, res) => res.end() });
    await (await fetch(`${service.url}/anything/123`, { method: 'POST' })).text();
    const span = await until('the span', () => t.spanStore?.spans().find((s) => s.kind === 'server'));
    assert.equal(span.name, 'POST');
    assert.equal(span.parentSpanId, null);
    assert.equal(span.attributes['http.route'], undefined);
  });

  it('marks 5xx responses as errors, and records a handler’s rejection (which stays unhandled)', async () => {
    const t = telemetry();
    const rejections: unknown[] = [];
    // node:test fails a test on any unhandled rejection; listen in its place for this one.
    const testRunners = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', (reason) => rejections.push(reason));
    cleanups.push(() => {
      process.removeAllListeners('unhandledRejection');
      for (const listener of testRunners) process.on('unhandledRejection', listener);
    });
    const service = await serve({
      routeOf: (req) => req.url,
      handler: async (req, res) => {
        if (req.url === '/busy') {
          res.statusCode = 503;
          res.end('busy');
          return;
        }
        if (req.url === '/missing') {
          res.statusCode = 404;
          res.end();
          return;
        }
        // Some framework answers 500 for the error; the rejection comes first.
        setImmediate(() => {
          res.statusCode = 500;
          res.end('boom');
        });
        throw new TypeError('stock table is gone');
      },
    });
    for (const path of ['/busy', '/missing', '/boom']) await (await fetch(`${service.url}${path}`)).text();
    const byName = await until('three spans', () => {
      const spans = t.spanStore?.spans().filter((s) => s.kind === 'server') ?? [];
      return spans.length === 3 ? new Map<string, StoredSpan>(spans.map((s) => [s.name, s])) : undefined;
    });
    const busy = byName.get('GET /busy');
    assert.deepEqual([busy?.status.code, busy?.attributes['error.type']], ['error', '503']);
    const missing = byName.get('GET /missing');
    assert.deepEqual(
      [missing?.status.code, missing?.attributes['error.type']],
      ['unset', undefined],
      '4xx is not a server error',
    );
    const boom = byName.get('GET /boom');
    assert.equal(boom?.status.code, 'error');
    assert.equal(boom?.status.message, 'stock table is gone');
    assert.equal(boom?.attributes['error.type'], 'TypeError');
    assert.ok(boom?.events.some((e) => e.name === 'exception'));
    await until('the rejection to reach the process', () => (rejections.length > 0 ? true : undefined));
    assert.match(String(rejections[0]), /stock table is gone/);
  });

  it('does not trace health checks', async () => {
    const t = telemetry();
    const service = await serve({ handler: (_req, res) => res.end() });
    await (await fetch(`${service.url}/health`)).text();
    await (await fetch(`${service.url}/x`)).text();
    await until('the /x span', () => t.spanStore?.spans().find((s) => s.attributes['url.path'] === '/x'));
    assert.deepEqual(
      t.spanStore?.spans().map((s) => s.attributes['url.path']),
      ['/x'],
    );
  });
});

describe('startService metrics', () => {
  it('counts requests by route, method and status class, and serves /metrics that promtool accepts', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    cleanups.push(setGlobalMetrics(metrics).dispose);
    const service = await serve({
      routeOf: (req) => (req.url?.startsWith('/orders/') ? '/orders/:id' : undefined),
      handler: (req, res) => {
        res.statusCode = req.url === '/orders/fail' ? 500 : req.url?.startsWith('/orders/') ? 200 : 404;
        res.end();
      },
    });
    for (const path of ['/orders/1', '/orders/2', '/orders/3', '/orders/fail', '/nope/1', '/nope/2']) {
      await (await fetch(`${service.url}${path}`)).text();
    }
    await (await fetch(`${service.url}/orders/4`, { method: 'DELETE' })).text();
    await (await fetch(`${service.url}/health`)).text();

    const res = await fetch(`${service.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const count = (labels: string) =>
      Number(new RegExp(`^switchyard_http_server_requests_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    assert.equal(count('route="/orders/:id",method="GET",status_class="2xx"'), 3);
    assert.equal(count('route="/orders/:id",method="GET",status_class="5xx"'), 1);
    assert.equal(count('route="/orders/:id",method="DELETE",status_class="2xx"'), 1);
    assert.equal(count('route="unmatched",method="GET",status_class="4xx"'), 2);
    assert.doesNotMatch(text, /route="\/nope/, 'raw paths never become labels');
    assert.doesNotMatch(text, /route="[^"]*health/, 'health checks are not counted');
    assert.match(
      text,
      /^switchyard_http_server_request_duration_seconds_count\{route="\/orders\/:id",method="GET",status_class="2xx"\} 3$/m,
    );
    assert.match(text, /^switchyard_http_server_requests_in_flight\{route="\/orders\/:id"\} 0$/m);

    const lint = await promtool(text);
    assert.equal(lint.code, 0, `promtool rejected the exposition:\n${lint.output}`);
  });

  it('serves the metrics on another path, or not at all with metricsPath: false', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    cleanups.push(setGlobalMetrics(metrics).dispose);
    const custom = await serve({ metricsPath: '/-/metrics', handler: (_req, res) => res.end('handler') });
    assert.match(await (await fetch(`${custom.url}/-/metrics`)).text(), /switchyard_http_server_requests_total/);
    assert.equal(await (await fetch(`${custom.url}/metrics`)).text(), 'handler');
    const off = await serve({ metricsPath: false, handler: (_req, res) => res.end('handler') });
    assert.equal(await (await fetch(`${off.url}/metrics`)).text(), 'handler');
  });

  it('without telemetry or metrics set up, changes nothing: /metrics goes to the handler, no span is active', async () => {
    assert.equal(globalMetrics(), noopMetrics);
    let recording: boolean | undefined;
    const service = await serve({
      handler: (req, res) => {
        recording = activeSpan()?.isRecording() ?? false;
        res.end(`handler ${req.url}`);
      },
    });
    const res = await fetch(`${service.url}/metrics`, { headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` } });
    assert.equal(await res.text(), 'handler /metrics');
    assert.equal(recording, false);
  });

  it('rejects a metricsPath equal to the health path', async () => {
    await assert.rejects(
      startService({ name: 'x', metricsPath: '/health', handler: () => {}, logger: quiet, handleSignals: false }),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('service.metricsPath'),
    );
  });
});

describe('startService telemetry option', () => {
  it('sets up tracing (exported over real OTLP) and metrics for the process, and undoes both on close', async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const service = await startService({
      name: 'payments',
      id: 'payments-7',
      port: 0,
      handleSignals: false,
      logger: quiet,
      telemetry: {
        exporters: { otlp: { endpoint: receiver.url, scheduledDelay: 50 } },
        metrics: { defaultMetrics: false },
      },
      routeOf: () => '/pay',
      handler: (_req, res) => res.end('paid'),
    });
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await service.close();
    });
    assert.notEqual(globalMetrics(), noopMetrics);
    await (await fetch(`${service.url}/pay`, { method: 'POST' })).text();
    assert.match(
      await (await fetch(`${service.url}/metrics`)).text(),
      /route="\/pay",method="POST",status_class="2xx"\} 1/,
    );
    await service.close();
    closed = true;

    const [span] = await receiver.waitForSpans((s) => s.name === 'POST /pay', 5000);
    assert.equal(span?.service, 'payments');
    assert.equal(span?.resource['service.instance.id'], 'payments-7');
    assert.equal(span?.kind, 'server');
    assert.equal(globalMetrics(), noopMetrics, 'the global metrics are restored on close');
    const again = setupTelemetry({ serviceName: 'next', exporters: { otlp: false } });
    await again.shutdown();
  });

  it('fails with SY_TELEMETRY_ALREADY_SET_UP when the process set telemetry up already', async () => {
    telemetry();
    await assert.rejects(
      startService({ name: 'dup', telemetry: true, handler: () => {}, logger: quiet, handleSignals: false }),
      (err) => isSwitchyardError(err, 'SY_TELEMETRY_ALREADY_SET_UP'),
    );
  });
});
