import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '@switchyard/core';
import { activeSpan, getTracer, injectContext, SpanKind, traced, withSpan } from '@switchyard/telemetry';
import { defineSaga } from './definition.ts';
import { createSagaEngine } from './engine.ts';
import { crashEngine } from './internal/engine-kill.ts';
import { deferred, until } from './internal/engine-test-kit.ts';
import { metrics, one, sample, tracing } from './internal/telemetry-test-kit.ts';
import { createMemorySagaStore } from './memory-store.ts';

const tracer = getTracer('saga-engine-test');

/** order: reserve -> charge (fails when `fail` is set) -> ship. */
function orderSaga(options: { fail?: boolean; failCompensation?: boolean } = {}) {
  const seen: { step: string; spanId: string | undefined; metaParent: string | undefined }[] = [];
  const note = (step: string, meta: Readonly<Record<string, string>>) =>
    seen.push({ step, spanId: activeSpan()?.spanContext().spanId, metaParent: meta.traceparent?.split('-')[2] });
  const saga = defineSaga<{ orderId: string }>('order')
    .step('reserve', {
      execute: async (ctx) => {
        note('reserve', ctx.meta);
        await traced('inventory call', async () => {});
        return 'r-1';
      },
      compensate: (ctx) => {
        note('release', ctx.meta);
        if (options.failCompensation) throw new Error('inventory is down');
      },
    })
    .step('charge', {
      execute: (ctx) => {
        note('charge', ctx.meta);
        if (options.fail) throw new Error('card declined');
        return 'p-1';
      },
    })
    .step('ship', { execute: () => 's-1' })
    .build();
  return { saga, seen, options };
}

describe('saga engine telemetry', () => {
  it('puts the saga, its steps and the calls they make in the trace of the code that began it', async (t) => {
    const spans = tracing(t);
    const { saga, seen } = orderSaga();
    const engine = createSagaEngine({ store: createMemorySagaStore(), sagas: [saga] });
    await engine.start();
    t.after(() => engine.stop());

    const parent = tracer.startSpan('POST /orders', { kind: SpanKind.SERVER });
    const id = await withSpan(parent, () => engine.begin(saga, { orderId: 'o-1' }));
    parent.end();
    assert.equal((await engine.wait(id)).status, 'completed');

    const { traceId, spanId: parentId } = parent.spanContext();
    const trace = spans.trace(traceId);
    const root = one(trace, 'saga order');
    assert.equal(root.parentSpanId, parentId);
    assert.equal(root.kind, 'internal');
    assert.equal(root.attributes['switchyard.saga.id'], id);
    assert.equal(root.attributes['switchyard.saga.name'], 'order');
    assert.equal(root.attributes['switchyard.saga.status'], 'completed');
    assert.equal(root.status.code, 'unset');
    for (const step of ['reserve', 'charge', 'ship']) {
      const span = one(trace, `saga order step ${step}`);
      assert.equal(span.parentSpanId, root.spanId, `${step} is a child of the saga span`);
      assert.equal(span.attributes['switchyard.saga.step'], step);
      assert.equal(span.attributes['switchyard.saga.step.phase'], 'execute');
      assert.equal(span.attributes['switchyard.attempt'], 1);
      assert.equal(span.attributes['switchyard.saga.step.outcome'], 'success');
    }
    const reserve = one(trace, 'saga order step reserve');
    assert.equal(one(trace, 'inventory call').parentSpanId, reserve.spanId, 'calls in a step are its children');
    // The step runs with its span active, and ctx.meta carries that span as the parent to send on.
    assert.deepEqual(seen[0], { step: 'reserve', spanId: reserve.spanId, metaParent: reserve.spanId });
    // The saga keeps the begin context in its meta.
    const record = await engine.get(id);
    assert.equal(record?.meta.traceparent?.split('-')[2], parentId);
  });

  it('prefers the active span to a traceparent given in meta, and keeps meta as given outside any span', async (t) => {
    tracing(t);
    const { saga } = orderSaga();
    const engine = createSagaEngine({ store: createMemorySagaStore(), sagas: [saga] });
    await engine.start();
    t.after(() => engine.stop());
    const upstream = tracer.startSpan('gateway');
    const meta = withSpan(upstream, () => injectContext<Record<string, string>>({ tenant: 'acme' }));
    upstream.end();
    const inner = tracer.startSpan('handler');
    const id = await withSpan(inner, () => engine.begin(saga, { orderId: 'o-2' }, { meta }));
    inner.end();
    await engine.wait(id);
    const stored = (await engine.get(id))?.meta;
    assert.equal(stored?.tenant, 'acme', 'other meta is kept');
    assert.equal(stored?.traceparent?.split('-')[2], inner.spanContext().spanId, 'the active span is the parent');
    const outside = await engine.begin(saga, { orderId: 'o-2b' }, { meta });
    await engine.wait(outside);
    assert.deepEqual((await engine.get(outside))?.meta, meta, 'outside any span: the given traceparent');
    const plain = await engine.begin(saga, { orderId: 'o-3' }, { meta: { tenant: 'acme' } });
    await engine.wait(plain);
    assert.deepEqual((await engine.get(plain))?.meta, { tenant: 'acme' }, 'outside any span: nothing to add');
  });

  it('records a failed step, the compensations and a saga.compensating event in the same trace', async (t) => {
    const spans = tracing(t);
    const { saga } = orderSaga({ fail: true });
    const engine = createSagaEngine({ store: createMemorySagaStore(), sagas: [saga] });
    await engine.start();
    t.after(() => engine.stop());
    const parent = tracer.startSpan('POST /orders');
    const id = await withSpan(parent, () => engine.begin(saga, { orderId: 'o-4' }));
    parent.end();
    assert.equal((await engine.wait(id)).status, 'compensated');

    const trace = spans.trace(parent.spanContext().traceId);
    const root = one(trace, 'saga order');
    assert.equal(root.parentSpanId, parent.spanContext().spanId);
    assert.equal(root.attributes['switchyard.saga.status'], 'compensated');
    assert.equal(root.status.code, 'error');
    assert.equal(root.attributes['error.type'], 'SY_SAGA_STEP_FAILED');
    const compensating = root.events.find((e) => e.name === 'saga.compensating');
    assert.equal(compensating?.attributes['error.message'], 'card declined');
    const charge = one(trace, 'saga order step charge');
    assert.equal(charge.status.code, 'error');
    assert.equal(charge.status.message, 'card declined');
    assert.equal(charge.attributes['switchyard.saga.step.outcome'], 'failure');
    assert.ok(charge.events.some((e) => e.name === 'exception'));
    const release = one(trace, 'saga order compensate reserve');
    assert.equal(release.parentSpanId, root.spanId);
    assert.equal(release.attributes['switchyard.saga.step.phase'], 'compensate');
    assert.equal(release.attributes['switchyard.saga.step.outcome'], 'success');
    assert.equal(trace.filter((s) => s.name === 'saga order step ship').length, 0, 'a step never started has no span');
  });

  it('marks a retried step attempt by attempt, with a saga.step.retry event', async (t) => {
    const spans = tracing(t);
    let calls = 0;
    const saga = defineSaga('flaky')
      .step('call', {
        retry: { maxAttempts: 3, backoff: { initial: 1, max: 1, jitter: 'none' } },
        execute: () => {
          calls++;
          if (calls < 3) throw new Error(`boom ${calls}`);
          return 'ok';
        },
      })
      .build();
    const engine = createSagaEngine({ store: createMemorySagaStore(), sagas: [saga] });
    await engine.start();
    t.after(() => engine.stop());
    const parent = tracer.startSpan('job');
    const id = await withSpan(parent, () => engine.begin(saga, null));
    parent.end();
    assert.equal((await engine.wait(id)).status, 'completed');
    const trace = spans.trace(parent.spanContext().traceId);
    const attempts = trace
      .filter((s) => s.name === 'saga flaky step call')
      .sort((a, b) => Number(a.attributes['switchyard.attempt']) - Number(b.attributes['switchyard.attempt']));
    assert.deepEqual(
      attempts.map((s) => [s.attributes['switchyard.attempt'], s.attributes['switchyard.saga.step.outcome']]),
      [
        [1, 'failure'],
        [2, 'failure'],
        [3, 'success'],
      ],
    );
    const retries = one(trace, 'saga flaky').events.filter((e) => e.name === 'saga.step.retry');
    assert.deepEqual(
      retries.map((e) => [e.attributes['switchyard.attempt'], e.attributes['error.message']]),
      [
        [1, 'boom 1'],
        [2, 'boom 2'],
      ],
    );
  });

  it('continues the same trace when another engine recovers the saga, with a saga.resumed event', async (t) => {
    const spans = tracing(t);
    const clock = new ManualClock(0);
    const store = createMemorySagaStore();
    const hang = deferred<never>();
    let calls = 0;
    const saga = defineSaga('handover')
      .step('a', { execute: () => 'a' })
      .step('b', {
        execute: () => {
          calls++;
          return calls === 1 ? hang.promise : 'b';
        },
      })
      .build();
    const options = { store, clock, sagas: [saga], leaseDuration: 30_000, pollInterval: 5_000 };
    const first = createSagaEngine({ ...options, owner: 'A' });
    await first.start();
    const parent = tracer.startSpan('POST /handover');
    const id = await withSpan(parent, () => first.begin(saga, null));
    parent.end();
    await until(() => calls === 1, 'b running on A');
    crashEngine(first);

    const second = createSagaEngine({ ...options, owner: 'B' });
    await second.start();
    t.after(() => second.stop());
    for (let ms = 0; ms < 40_000 && calls < 2; ms += 5_000) {
      clock.advance(5_000);
      await second.recover();
      for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
    }
    assert.equal((await second.wait(id)).status, 'completed');
    await until(
      () => spans.trace(parent.spanContext().traceId).filter((s) => s.name === 'saga handover').length === 2,
      'both segments ended',
    );

    const trace = spans.trace(parent.spanContext().traceId);
    const segments = trace.filter((s) => s.name === 'saga handover');
    assert.deepEqual(
      segments.map((s) => [s.parentSpanId, s.attributes['switchyard.saga.owner']]).sort(),
      [
        [parent.spanContext().spanId, 'A'],
        [parent.spanContext().spanId, 'B'],
      ],
      'both run segments are children of the span that began the saga',
    );
    const resumed = segments.find((s) => s.attributes['switchyard.saga.owner'] === 'B');
    assert.equal(
      resumed?.events.find((e) => e.name === 'saga.resumed')?.attributes['switchyard.saga.resumed.reason'],
      'recovered',
    );
    assert.equal(resumed?.attributes['switchyard.saga.status'], 'completed');
    const crashed = segments.find((s) => s.attributes['switchyard.saga.owner'] === 'A');
    assert.equal(crashed?.attributes['switchyard.saga.status'], 'running');
    const rerun = trace.filter((s) => s.name === 'saga handover step b' && s.parentSpanId === resumed?.spanId);
    assert.equal(rerun.length, 1, 'the re-run of b is a child of the new segment');
  });
});

describe('saga engine metrics', () => {
  it('counts starts, completions, compensations and parks, and times steps by phase and outcome', async (t) => {
    const m = metrics(t);
    const ok = orderSaga();
    const okEngine = createSagaEngine({ store: createMemorySagaStore(), sagas: [ok.saga] });
    await okEngine.start();
    t.after(() => okEngine.stop());
    await okEngine.run(ok.saga, { orderId: 'o-1' });
    const saga = { saga: 'order' };
    assert.equal(await sample(m, 'switchyard_saga_started_total', saga), 1);
    assert.equal(await sample(m, 'switchyard_saga_completed_total', saga), 1);
    const reserveOk = { saga: 'order', step: 'reserve', phase: 'execute', outcome: 'success' };
    assert.equal(await sample(m, 'switchyard_saga_step_duration_seconds_count', reserveOk), 1);

    const failing = orderSaga({ fail: true });
    const failEngine = createSagaEngine({ store: createMemorySagaStore(), sagas: [failing.saga] });
    await failEngine.start();
    t.after(() => failEngine.stop());
    assert.equal((await failEngine.run(failing.saga, { orderId: 'o-2' })).status, 'compensated');
    assert.equal(await sample(m, 'switchyard_saga_started_total', saga), 2);
    assert.equal(await sample(m, 'switchyard_saga_compensated_total', saga), 1);
    assert.equal(await sample(m, 'switchyard_saga_completed_total', saga), 1);
    const chargeFailed = { saga: 'order', step: 'charge', phase: 'execute', outcome: 'failure' };
    assert.equal(await sample(m, 'switchyard_saga_step_duration_seconds_count', chargeFailed), 1);
    const released = { saga: 'order', step: 'reserve', phase: 'compensate', outcome: 'success' };
    assert.equal(await sample(m, 'switchyard_saga_step_duration_seconds_count', released), 1);

    const stuck = orderSaga({ fail: true, failCompensation: true });
    const parkEngine = createSagaEngine({
      store: createMemorySagaStore(),
      sagas: [stuck.saga],
      compensation: { maxAttempts: 2, backoff: { initial: 1, max: 1, jitter: 'none' } },
    });
    await parkEngine.start();
    t.after(() => parkEngine.stop());
    const parked = await parkEngine.run(stuck.saga, { orderId: 'o-3' });
    assert.equal(parked.status, 'parked');
    assert.equal(await sample(m, 'switchyard_saga_parked_total', saga), 1);
    const releaseFailed = { saga: 'order', step: 'reserve', phase: 'compensate', outcome: 'failure' };
    assert.equal(await sample(m, 'switchyard_saga_step_duration_seconds_count', releaseFailed), 2);
    await parkEngine.abort(parked.id, { reason: 'settled by hand' });
    assert.equal(await sample(m, 'switchyard_saga_aborted_total', saga), 1);
  });

  it('parks with a saga.parked event and each failed compensation as an event', async (t) => {
    const spans = tracing(t);
    const stuck = orderSaga({ fail: true, failCompensation: true });
    const engine = createSagaEngine({
      store: createMemorySagaStore(),
      sagas: [stuck.saga],
      compensation: { maxAttempts: 2, backoff: { initial: 1, max: 1, jitter: 'none' } },
    });
    await engine.start();
    t.after(() => engine.stop());
    const parent = tracer.startSpan('POST /orders');
    const id = await withSpan(parent, () => engine.begin(stuck.saga, { orderId: 'o-5' }));
    parent.end();
    assert.equal((await engine.wait(id)).status, 'parked');
    const root = one(spans.trace(parent.spanContext().traceId), 'saga order');
    assert.deepEqual(
      root.events.filter((e) => e.name !== 'exception').map((e) => e.name),
      ['saga.compensating', 'saga.compensation.failed', 'saga.compensation.failed', 'saga.parked'],
    );
    assert.equal(
      root.events.find((e) => e.name === 'saga.parked')?.attributes['error.type'],
      'SY_SAGA_COMPENSATION_FAILED',
    );
    assert.equal(root.attributes['switchyard.saga.status'], 'parked');
    assert.equal(root.status.code, 'error');

    // The operator fixes inventory and retries: a new segment in the same trace.
    stuck.options.failCompensation = false;
    await engine.retry(id, { reason: 'inventory is back' });
    assert.equal((await engine.wait(id)).status, 'compensated');
    const segments = spans.trace(parent.spanContext().traceId).filter((s) => s.name === 'saga order');
    assert.equal(segments.length, 2);
    const retried = segments.find((s) => s.spanId !== root.spanId);
    assert.equal(retried?.parentSpanId, parent.spanContext().spanId);
    assert.equal(
      retried?.events.find((e) => e.name === 'saga.resumed')?.attributes['switchyard.saga.resumed.reason'],
      'retried',
    );
    assert.equal(retried?.attributes['switchyard.saga.status'], 'compensated');
  });
});
