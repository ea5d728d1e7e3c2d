import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { resolveTelemetryOptions } from './telemetry-options.ts';

describe('resolveTelemetryOptions: OTLP exporter options', () => {
  it('defaults to the built-in exporter without compression', () => {
    const otlp = resolveTelemetryOptions({ serviceName: 's', exporters: { otlp: {} } }, {}).exporters.otlp;
    assert.ok(otlp);
    assert.equal(otlp.implementation, 'switchyard');
    assert.equal(otlp.compression, 'none');
  });

  it('reads headers, compression and timeout from OTEL_EXPORTER_OTLP_[TRACES_]*; explicit options win', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=generic,X-Tenant=a%20b',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=traces',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2500',
    };
    const fromEnv = resolveTelemetryOptions({ serviceName: 's' }, env).exporters.otlp;
    assert.ok(fromEnv);
    // The traces-specific variable replaces the generic one as a whole, as OpenTelemetry does.
    assert.deepEqual(fromEnv.headers, { 'api-key': 'traces' });
    assert.equal(fromEnv.compression, 'gzip');
    assert.equal(fromEnv.timeout, 2500);
    const generic = resolveTelemetryOptions(
      {
        serviceName: 's',
        exporters: { otlp: { headers: { 'api-key': 'explicit' }, compression: 'none', timeout: '1s' } },
      },
      {
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key=generic,X-Tenant=a%20b',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_EXPORTER_OTLP_TIMEOUT: '9',
      },
    ).exporters.otlp;
    assert.ok(generic);
    assert.deepEqual(generic.headers, { 'api-key': 'explicit', 'x-tenant': 'a b' });
    assert.equal(generic.compression, 'none');
    assert.equal(generic.timeout, 1000);
    // With the exporter off, the variables turn nothing on.
    assert.equal(
      resolveTelemetryOptions({ serviceName: 's' }, { OTEL_EXPORTER_OTLP_HEADERS: 'a=b' }).exporters.otlp,
      undefined,
    );
  });

  it('rejects an unknown compression or implementation naming the exporter', () => {
    for (const [otlp, field] of [
      [{ compression: 'snappy' }, 'telemetry.exporters.otlp:'],
      [{ implementation: 'grpc' }, 'telemetry.exporters.otlp:'],
    ] as const) {
      assert.throws(
        // @ts-expect-error: invalid on purpose
        () => resolveTelemetryOptions({ serviceName: 's', exporters: { otlp } }, {}),
        (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && String((err as Error).message).includes(field),
      );
    }
  });
});
