import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { isSwitchyardError } from '@switchyard/core';
import { extractContext } from './propagation.ts';
import { setupTelemetry } from './setup-telemetry.ts';
import { resolveTelemetryOptions } from './telemetry-options.ts';
import { traced } from './traced.ts';
import { getTracer, SpanKind } from './tracer.ts';

// Obtained before any setup, as a package would at module level.
const moduleTracer = getTracer('@switchyard/test-module');

function assertConfigError(fn: () => unknown, path: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), `expected SY_CONFIG_INVALID, got ${String(err)}`);
    const issues = err.details.issues as Array<{ path: string; message: string }>;
    const issue = issues.find((i) => i.path === path);
    assert.ok(issue, `no issue at ${path}: ${err.message}`);
    if (message) assert.match(issue.message, message);
    return true;
  });
}

describe('setupTelemetry options', () => {
  it('rejects bad options naming the field', () => {
    assertConfigError(() => resolveTelemetryOptions({}, {}), 'telemetry.serviceName', /required/);
    assertConfigError(
      () => resolveTelemetryOptions({ serviceName: 'a', samplingRatio: 2 }, {}),
      'telemetry.samplingRatio',
    );
    assertConfigError(
      () =>
        resolveTelemetryOptions(
          { serviceName: 'a', exporters: { otlp: { endpoint: 'ftp://collector/v1/traces' } } },
          {},
        ),
      'telemetry.exporters.otlp.endpoint',
    );
    assertConfigError(
      () => resolveTelemetryOptions({ serviceName: 'a', exporters: { memory: { capacity: 0 } } }, {}),
      'telemetry.exporters.memory.capacity',
    );
    assertConfigError(
      () => resolveTelemetryOptions({ serviceName: 'a', samplingRate: 1 } as never, {}),
      'telemetry.samplingRate',
      /did you mean "samplingRatio"/,
    );
    assertConfigError(
      () => resolveTelemetryOptions({ serviceName: 'a', propagators: ['b3'] } as never, {}),
      'telemetry.propagators[0]',
    );
  });

  it('applies defaults: memory store on, OTLP off, ratio 1, W3C propagators, an instance id', () => {
    const options = resolveTelemetryOptions({ serviceName: 'orders' }, {});
    assert.equal(options.samplingRatio, 1);
    assert.deepEqual(options.exporters.memory, { capacity: 10_000 });
    assert.equal(options.exporters.otlp, undefined);
    assert.deepEqual(options.propagators, ['tracecontext', 'baggage']);
    assert.match(options.instanceId, /^[0-9a-f-]{36}$/);
    const otlp = resolveTelemetryOptions({ serviceName: 'orders', exporters: { otlp: {} } }, {}).exporters.otlp;
    assert.ok(otlp);
    assert.equal(otlp.endpoint, 'http://127.0.0.1:4318/v1/traces');
    assert.equal(otlp.timeout, 10_000);
  });

  it('falls back to OTEL_SERVICE_NAME and the OTEL_EXPORTER_OTLP_* endpoints; explicit options win', () => {
    const base = resolveTelemetryOptions(
      {},
      { OTEL_SERVICE_NAME: 'billing', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' },
    );
    assert.equal(base.serviceName, 'billing');
    assert.ok(base.exporters.otlp);
    assert.equal(base.exporters.otlp.endpoint, 'http://collector:4318/v1/traces');
    const full = resolveTelemetryOptions(
      { serviceName: 'x', exporters: { otlp: { timeout: '2s' } } },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom' },
    );
    assert.ok(full.exporters.otlp);
    assert.equal(full.exporters.otlp.endpoint, 'http://b:4318/custom');
    assert.equal(full.exporters.otlp.timeout, 2000);
    const off = resolveTelemetryOptions(
      { serviceName: 'x', exporters: { otlp: false } },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' },
    );
    assert.equal(off.exporters.otlp, false);
    const explicit = resolveTelemetryOptions(
      { serviceName: 'x', exporters: { otlp: { endpoint: 'http://c:1/v1/traces' } } },
      {
        OTEL_SERVICE_NAME: 'ignored',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
      },
    );
    assert.equal(explicit.serviceName, 'x');
    assert.ok(explicit.exporters.otlp);
    assert.equal(explicit.exporters.otlp.endpoint, 'http://c:1/v1/traces');
  });
});

describe('setupTelemetry lifecycle', () => {
  it('without setup, spans are non-recording no-ops', () => {
    const span = moduleTracer.startSpan('nothing');
    assert.equal(span.isRecording(), false);
    span.end();
    assert.equal(
      traced('plain', () => 42),
      42,
    );
  });

  it('records spans with the resource attributes into the span store', async () => {
    const telemetry = setupTelemetry({ serviceName: 'orders', serviceVersion: '1.2.3', instanceId: 'orders-1' }, {});
    try {
      const span = moduleTracer.startSpan('GET /orders', { kind: SpanKind.SERVER });
      span.end();
      const [stored] = telemetry.spanStore?.spans() ?? [];
      assert.ok(stored);
      assert.equal(stored.name, 'GET /orders');
      assert.equal(stored.service, 'orders');
      assert.equal(stored.kind, 'server');
      assert.equal(stored.scope, '@switchyard/test-module');
    } finally {
      await telemetry.shutdown();
    }
  });

  it('refuses a second setup before shutdown, and allows one after', async () => {
    const first = setupTelemetry({ serviceName: 'first' }, {});
    assert.throws(
      () => setupTelemetry({ serviceName: 'second' }, {}),
      (err: unknown) => isSwitchyardError(err, 'SY_TELEMETRY_ALREADY_SET_UP') && /"first"/.test(err.message),
    );
    const shutdown = first.shutdown();
    assert.equal(first.shutdown(), shutdown, 'shutdown is idempotent');
    await shutdown;
    assert.equal(moduleTracer.startSpan('after shutdown').isRecording(), false);

    const second = setupTelemetry({ serviceName: 'second' }, {});
    try {
      moduleTracer.startSpan('in second').end();
      assert.deepEqual(
        second.spanStore?.spans().map((s) => [s.name, s.service]),
        [['in second', 'second']],
      );
      assert.equal(first.spanStore?.spans().length, 0, 'the first store saw nothing after its shutdown');
    } finally {
      await second[Symbol.asyncDispose]();
    }
  });

  it('refuses to replace another OpenTelemetry SDK and leaves it registered', async () => {
    const foreign = new TracerProvider();
    assert.equal(trace.setGlobalTracerProvider(foreign), true);
    try {
      assert.throws(
        () => setupTelemetry({ serviceName: 'x' }, {}),
        (err: unknown) => isSwitchyardError(err, 'SY_TELEMETRY_GLOBAL_CONFLICT'),
      );
      assert.equal(getTracer('@switchyard/after-conflict').startSpan('foreign').isRecording(), true);
    } finally {
      trace.disable();
      await foreign.shutdown();
    }
    const telemetry = setupTelemetry({ serviceName: 'after' }, {});
    await telemetry.shutdown();
  });
});

describe('sampling', () => {
  const sampledParent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const unsampledParent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';

  it('ratio 0 records no new trace, but follows a sampled remote parent', async () => {
    const telemetry = setupTelemetry({ serviceName: 's', samplingRatio: 0 }, {});
    try {
      for (let i = 0; i < 50; i++) moduleTracer.startSpan(`root ${i}`).end();
      assert.equal(telemetry.spanStore?.size, 0);
      const parent = extractContext({ traceparent: sampledParent });
      const child = moduleTracer.startSpan('child of sampled', {}, parent);
      assert.equal(child.isRecording(), true);
      child.end();
      const stored = telemetry.spanStore?.trace('0af7651916cd43dd8448eb211c80319c') ?? [];
      assert.deepEqual(
        stored.map((s) => [s.name, s.parentSpanId]),
        [['child of sampled', 'b7ad6b7169203331']],
      );
    } finally {
      await telemetry.shutdown();
    }
  });

  it('ratio 1 records every root, but follows an unsampled parent', async () => {
    const telemetry = setupTelemetry({ serviceName: 's' }, {});
    try {
      for (let i = 0; i < 20; i++) moduleTracer.startSpan(`root ${i}`).end();
      assert.equal(telemetry.spanStore?.size, 20);
      const span = moduleTracer.startSpan('child of unsampled', {}, extractContext({ traceparent: unsampledParent }));
      assert.equal(span.isRecording(), false);
      assert.equal(span.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c', 'the trace id still propagates');
      span.end();
      assert.equal(telemetry.spanStore?.size, 20);
    } finally {
      await telemetry.shutdown();
    }
  });

  it('a ratio in between samples about that share of roots', async () => {
    const telemetry = setupTelemetry(
      { serviceName: 's', samplingRatio: 0.25, exporters: { memory: { capacity: 5000 } } },
      {},
    );
    try {
      for (let i = 0; i < 4000; i++) moduleTracer.startSpan('r').end();
      const size = telemetry.spanStore?.size ?? 0;
      assert.ok(size > 800 && size < 1200, `expected ~1000 of 4000 sampled, got ${size}`);
    } finally {
      await telemetry.shutdown();
    }
  });
});
