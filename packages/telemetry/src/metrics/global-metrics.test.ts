import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from './create-metrics.ts';
import { globalMetrics, setGlobalMetrics } from './global-metrics.ts';
import { sampleValue } from './internal/exposition.ts';
import { noopMetrics } from './noop-metrics.ts';

describe('global metrics', () => {
  it('is the no-op until set, then the set metrics, and restores on dispose', async () => {
    assert.equal(globalMetrics(), noopMetrics);
    const metrics = createMetrics({ defaultMetrics: false });
    {
      using _ = setGlobalMetrics(metrics);
      assert.equal(globalMetrics(), metrics);
      globalMetrics().bulkhead.named('db').rejected();
    }
    assert.equal(globalMetrics(), noopMetrics);
    assert.equal(sampleValue(await metrics.text(), 'switchyard_bulkhead_rejections_total{name="db"}'), 1);
  });

  it('nests: disposing the inner setting brings the outer back; a stale dispose changes nothing', () => {
    const outer = createMetrics({ defaultMetrics: false });
    const inner = createMetrics({ defaultMetrics: false });
    const a = setGlobalMetrics(outer);
    const b = setGlobalMetrics(inner);
    b.dispose();
    assert.equal(globalMetrics(), outer);
    const c = setGlobalMetrics(inner);
    b.dispose();
    assert.equal(globalMetrics(), inner, 'an already disposed handle does nothing');
    c.dispose();
    a.dispose();
    assert.equal(globalMetrics(), noopMetrics);
  });

  it('is shared through globalThis, so a duplicate copy of the package sees it', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    using _ = setGlobalMetrics(metrics);
    assert.equal((globalThis as Record<symbol, unknown>)[Symbol.for('switchyard.telemetry.metrics')], metrics);
  });
});

describe('no-op metrics', () => {
  it('says it is disabled, so callers skip reading the clock', () => {
    assert.equal(noopMetrics.enabled, false);
  });

  it('holds no per-name state: every handle is one shared frozen object', () => {
    const route = noopMetrics.http.route('a');
    assert.equal(noopMetrics.http.route('b'), route);
    assert.equal(noopMetrics.upstream.service('x').instance('y'), noopMetrics.saga.definition('s').step('t'));
    assert.ok(Object.isFrozen(route));
    assert.ok(Object.isFrozen(noopMetrics.http));
  });

  it('never throws, whatever it is given', () => {
    const m = noopMetrics;
    const bad = undefined as unknown as string;
    m.http.route(bad).start();
    m.http.route(bad).end(bad, Number.NaN, -1);
    m.http.route(bad).observe(bad, Number.NaN, Number.POSITIVE_INFINITY);
    const s = m.upstream.service(bad);
    s.instance(bad).succeeded();
    s.instance(bad).failed(bad as 'other');
    s.retried(bad as 'other');
    s.retryBudgetRejected();
    s.ejected();
    s.breakerState(bad as 'open');
    m.rateLimit.route(bad).record(bad as 'allowed');
    m.bulkhead.named(bad).rejected();
    m.discovery
      .addInstanceSource(() => {
        throw new Error('never read');
      })
      [Symbol.dispose]();
    const saga = m.saga.definition(bad);
    saga.started();
    saga.completed();
    saga.compensated();
    saga.parked();
    saga.aborted();
    saga.step(bad).observe(bad as 'execute', bad as 'success', Number.NaN);
    m.bus.publisher(bad, bad).published();
    m.bus.consumer(bad, bad).consumed(bad as 'ack');
    m.bus.consumer(bad, bad).redelivered();
  });
});
