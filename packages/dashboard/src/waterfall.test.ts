import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layoutWaterfall, minBarPct, serviceColourCount, serviceColours, timeTicks } from '../assets/waterfall.js';

function span(spanId: string, parentSpanId: string | null, startMs: number, durationMs: number, extra = {}) {
  return {
    spanId,
    parentSpanId,
    service: 'svc',
    name: spanId,
    startTimeUs: 1_000_000_000 + startMs * 1000,
    endTimeUs: 1_000_000_000 + (startMs + durationMs) * 1000,
    status: { code: 'unset' },
    ...extra,
  };
}

describe('layoutWaterfall', () => {
  it('orders spans as a tree, children by start time, whatever order they arrive in', () => {
    const w = layoutWaterfall([
      span('c2', 'root', 50, 10),
      span('gc', 'c1', 20, 5),
      span('root', null, 0, 100),
      span('c1', 'root', 10, 30),
    ]);
    assert.deepEqual(
      w.rows.map((r) => [r.span.spanId, r.depth]),
      [
        ['root', 0],
        ['c1', 1],
        ['gc', 2],
        ['c2', 1],
      ],
    );
    assert.equal(w.totalMs, 100);
    assert.equal(w.rows[0]?.hasChildren, true);
    assert.equal(w.rows[2]?.hasChildren, false);
  });
  it('places bars by start and duration as percentages of the trace', () => {
    const w = layoutWaterfall([span('root', null, 0, 200), span('a', 'root', 50, 100)]);
    const a = w.rows[1];
    assert.equal(a?.offsetPct, 25);
    assert.equal(a?.widthPct, 50);
    assert.equal(a?.startMs, 50);
    assert.equal(a?.durationMs, 100);
  });
  it('keeps tiny spans visible with a minimum width that stays inside the axis', () => {
    const w = layoutWaterfall([span('root', null, 0, 1000), span('tiny', 'root', 1000, 0)]);
    const tiny = w.rows[1];
    assert.equal(tiny?.widthPct, minBarPct);
    assert.ok((tiny?.offsetPct ?? 0) + (tiny?.widthPct ?? 0) <= 100 + minBarPct);
  });
  it('treats a span whose parent is missing (remote or evicted) as a root', () => {
    const w = layoutWaterfall([span('orphan', 'gone', 30, 10), span('root', null, 0, 20)]);
    assert.deepEqual(
      w.rows.map((r) => [r.span.spanId, r.depth]),
      [
        ['root', 0],
        ['orphan', 0],
      ],
    );
    assert.equal(w.totalMs, 40);
  });
  it('survives parent cycles and self-parents without losing spans', () => {
    const w = layoutWaterfall([span('a', 'b', 0, 10), span('b', 'a', 5, 10), span('self', 'self', 1, 1)]);
    assert.equal(w.rows.length, 3);
    assert.deepEqual(new Set(w.rows.map((r) => r.span.spanId)), new Set(['a', 'b', 'self']));
  });
  it('marks error spans and lists the services sorted', () => {
    const w = layoutWaterfall([
      span('root', null, 0, 10, { service: 'gateway' }),
      span('x', 'root', 1, 5, { service: 'payments', status: { code: 'error' } }),
      span('y', 'root', 2, 5, { service: 'orders' }),
    ]);
    assert.deepEqual(
      w.rows.map((r) => r.error),
      [false, true, false],
    );
    assert.deepEqual(w.services, ['gateway', 'orders', 'payments']);
  });
  it('handles an empty trace and a zero-length one', () => {
    assert.deepEqual(layoutWaterfall([]), { rows: [], startUs: 0, totalMs: 0, services: [] });
    const w = layoutWaterfall([span('root', null, 0, 0)]);
    assert.equal(w.rows[0]?.offsetPct, 0);
    assert.equal(w.rows[0]?.widthPct, 100);
  });
});

describe('timeTicks', () => {
  it('picks round steps that cover the trace', () => {
    assert.deepEqual(
      timeTicks(310, 5).map((t) => t.ms),
      [0, 100, 200, 300],
    );
    assert.deepEqual(
      timeTicks(1, 4).map((t) => t.ms),
      [0, 0.5, 1],
    );
    const last = timeTicks(310, 5).at(-1);
    assert.ok(Math.abs((last?.pct ?? 0) - (300 / 310) * 100) < 1e-9);
  });
  it('gives one tick at 0 for an empty trace', () => {
    assert.deepEqual(timeTicks(0, 5), [{ ms: 0, pct: 0 }]);
  });
});

describe('serviceColours', () => {
  it('gives each service a stable slot by name, wrapping around the palette', () => {
    const a = serviceColours(['payments', 'gateway', 'orders']);
    const b = serviceColours(['orders', 'payments', 'gateway', 'orders']);
    assert.deepEqual([...a], [...b]);
    assert.deepEqual(
      [...a],
      [
        ['gateway', 0],
        ['orders', 1],
        ['payments', 2],
      ],
    );
    const many = serviceColours(
      Array.from({ length: serviceColourCount + 1 }, (_, i) => `s${String(i).padStart(2, '0')}`),
    );
    assert.equal(many.get(`s${String(serviceColourCount).padStart(2, '0')}`), 0);
  });
});
