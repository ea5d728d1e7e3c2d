import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chartModel, linearScale, niceCeil, redSeries, ticks } from '../assets/scale.js';

const box = { width: 100, height: 50, top: 0, right: 0, bottom: 0, left: 0 };

describe('niceCeil', () => {
  it('rounds up to 1, 2 or 5 times a power of ten', () => {
    assert.equal(niceCeil(0.7), 1);
    assert.equal(niceCeil(1), 1);
    assert.equal(niceCeil(1.1), 2);
    assert.equal(niceCeil(3), 5);
    assert.equal(niceCeil(7), 10);
    assert.equal(niceCeil(42), 50);
    assert.equal(niceCeil(0.03), 0.05);
    assert.equal(niceCeil(0.3), 0.5);
    assert.equal(niceCeil(1200), 2000);
  });
  it('gives 1 for empty or bad input so an empty chart still has an axis', () => {
    assert.equal(niceCeil(0), 1);
    assert.equal(niceCeil(-5), 1);
    assert.equal(niceCeil(Number.NaN), 1);
  });
});

describe('linearScale and ticks', () => {
  it('maps a domain onto a range, inverted ranges included', () => {
    const y = linearScale([0, 10], [50, 0]);
    assert.equal(y(0), 50);
    assert.equal(y(10), 0);
    assert.equal(y(5), 25);
  });
  it('maps everything to the range start when the domain is one point', () => {
    assert.equal(linearScale([3, 3], [10, 20])(3), 10);
  });
  it('spaces ticks evenly from 0 to max', () => {
    assert.deepEqual(ticks(0.3, 3), [0, 0.1, 0.2, 0.3]);
    assert.deepEqual(ticks(50, 2), [0, 25, 50]);
  });
});

describe('chartModel', () => {
  it('places points on the box with 0 at the bottom and the nice max at the top', () => {
    const m = chartModel(
      [
        { t: 0, value: 0 },
        { t: 5, value: 4 },
        { t: 10, value: 2 },
      ],
      box,
    );
    assert.equal(m.yMax, 5);
    assert.deepEqual(m.points, [
      { x: 0, y: 50 },
      { x: 50, y: 10 },
      { x: 100, y: 30 },
    ]);
    assert.equal(m.line, 'M0,50 L50,10 L100,30');
    assert.equal(m.area, 'M0,50 L50,10 L100,30 L100,50 L0,50 Z');
    assert.deepEqual(m.xDomain, [0, 10]);
    assert.deepEqual(
      m.yTicks.map((t) => t.y),
      [50, 25, 0],
    );
  });
  it('breaks the line at missing values instead of drawing them as zero', () => {
    const m = chartModel(
      [
        { t: 0, value: 1 },
        { t: 1, value: null },
        { t: 2, value: 1 },
        { t: 3, value: 1 },
      ],
      box,
    );
    assert.equal(m.points.length, 3);
    assert.equal((m.line.match(/M/g) ?? []).length, 2);
    assert.deepEqual(m.isolated, [{ x: 0, y: 0 }], 'the lone first point is marked as a dot');
  });
  it('respects a minimum axis top so a flat 0.1% error rate does not fill the chart', () => {
    const m = chartModel(
      [
        { t: 0, value: 0.001 },
        { t: 1, value: 0.001 },
      ],
      box,
      { minMax: 0.05 },
    );
    assert.equal(m.yMax, 0.05);
    assert.ok((m.points[0]?.y ?? 0) > 48);
  });
  it('centres a single point and draws nothing for an empty series', () => {
    const one = chartModel([{ t: 7, value: 1 }], box);
    assert.deepEqual(one.points, [{ x: 50, y: 0 }]);
    assert.deepEqual(one.isolated, [{ x: 50, y: 0 }]);
    const none = chartModel([], box);
    assert.equal(none.line, '');
    assert.equal(none.area, '');
    assert.equal(none.yMax, 1);
  });
});

describe('redSeries', () => {
  it('derives requests per second, error rate and p99 from 5 s buckets', () => {
    const s = redSeries([
      { t: 10_000, requests: 0, errors: 0, p99Ms: 0 },
      { t: 0, requests: 50, errors: 5, p99Ms: 12 },
      { t: 5000, requests: 10, errors: 0, p99Ms: 30 },
    ]);
    assert.deepEqual(
      s.rps.map((p) => p.value),
      [10, 2, 0],
    );
    assert.deepEqual(
      s.errorRate.map((p) => p.value),
      [0.1, 0, null],
    );
    assert.deepEqual(
      s.p99Ms.map((p) => p.value),
      [12, 30, null],
    );
    assert.deepEqual(
      s.rps.map((p) => p.t),
      [0, 5000, 10_000],
    );
  });
  it('assumes 5 s buckets when there is one point', () => {
    assert.equal(redSeries([{ t: 0, requests: 20, errors: 0, p99Ms: 1 }]).rps[0]?.value, 4);
  });
});
