import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { coreError } from '@switchyard/core';
import { recordError } from './record-error.ts';
import { SwitchyardAttributes } from './semconv.ts';
import { setupTelemetry, type Telemetry } from './setup-telemetry.ts';
import type { StoredSpan } from './stored-span.ts';
import { traced } from './traced.ts';
import { activeSpan, SpanKind, startSpan } from './tracer.ts';

let telemetry: Telemetry;
before(() => {
  telemetry = setupTelemetry({ serviceName: 'traced' }, {});
});
after(() => telemetry.shutdown());

function lastSpan(name: string): StoredSpan {
  const span = telemetry.spanStore?.spans({ limit: 1000 }).find((s) => s.name === name);
  assert.ok(span, `no span named ${name}`);
  return span;
}

describe('traced()', () => {
  it('runs a sync function in an active span, returns its value, leaves status unset', () => {
    let inside: string | undefined;
    const value = traced('sync ok', (span) => {
      inside = activeSpan()?.spanContext().spanId;
      assert.equal(inside, span.spanContext().spanId);
      return 7;
    });
    assert.equal(value, 7);
    assert.equal(activeSpan(), undefined, 'the span is no longer active');
    const span = lastSpan('sync ok');
    assert.equal(span.spanId, inside);
    assert.deepEqual(span.status, { code: 'unset' });
    assert.equal(span.kind, 'internal');
  });

  it('records a thrown error (exception event, ERROR status, error.type) and rethrows it', () => {
    const boom = new TypeError('bad input');
    assert.throws(
      () =>
        traced('sync throw', () => {
          throw boom;
        }),
      (err) => err === boom,
    );
    const span = lastSpan('sync throw');
    assert.deepEqual(span.status, { code: 'error', message: 'bad input' });
    assert.equal(span.attributes['error.type'], 'TypeError');
    assert.equal(span.events[0]?.name, 'exception');
    assert.equal(span.events[0]?.attributes['exception.type'], 'TypeError');
    assert.match(String(span.events[0]?.attributes['exception.stacktrace']), /bad input/);
  });

  it('ends async spans when the promise settles and records a rejection with the Switchyard code', async () => {
    const result = await traced('async ok', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return traced('nested', () => 'inner');
    });
    assert.equal(result, 'inner');
    assert.equal(lastSpan('nested').parentSpanId, lastSpan('async ok').spanId);

    const failure = coreError('SY_CANCELLED', 'saga step cancelled');
    await assert.rejects(
      traced(
        'async fail',
        async () => {
          await Promise.resolve();
          throw failure;
        },
        { kind: SpanKind.CONSUMER, attributes: { [SwitchyardAttributes.SAGA_STEP]: 'reserve' } },
      ),
      (err) => err === failure,
    );
    const span = lastSpan('async fail');
    assert.equal(span.kind, 'consumer');
    assert.equal(span.attributes['switchyard.saga.step'], 'reserve');
    assert.equal(span.attributes['error.type'], 'SY_CANCELLED');
    assert.equal(span.status.code, 'error');
    assert.equal(span.events[0]?.attributes['exception.type'], 'SY_CANCELLED');
  });

  it('recordError handles values that are not Error and ignores non-recording spans', () => {
    const span = startSpan('non-error', { scope: 'x' });
    recordError(span, 'just a string');
    span.end();
    const stored = lastSpan('non-error');
    assert.equal(stored.attributes['error.type'], '_OTHER');
    assert.deepEqual(stored.status, { code: 'error', message: 'just a string' });
    const ended = startSpan('ended');
    ended.end();
    recordError(ended, new Error('late'));
    assert.deepEqual(lastSpan('ended').status, { code: 'unset' });
  });
});
