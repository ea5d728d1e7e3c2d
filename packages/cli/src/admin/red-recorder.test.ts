import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedRecorder, RED_SLOT_MS } from './red-recorder.ts';

describe('RED recorder', () => {
  it('counts requests and errors per route and method over the window, with a series per 5 s', () => {
    let now = 1_000_000_000_000;
    const red = createRedRecorder(() => now);
    red.record('orders', 'GET', 200, 10);
    red.record('orders', 'GET', 503, 20);
    red.record('orders', 'POST', 201, 5);
    red.record('unmatched', 'GET', 0, 1);
    now += RED_SLOT_MS;
    red.record('orders', 'GET', 200, 30);
    const rows = red.query(60_000);
    const get = rows.find((r) => r.route === 'orders' && r.method === 'GET');
    assert.equal(get?.requests, 3);
    assert.equal(get?.errors, 1);
    assert.equal(get?.errorRate, 1 / 3);
    assert.equal(get?.rps, 0.05);
    assert.equal(get?.series.length, 12);
    assert.deepEqual(
      get?.series.slice(-2).map((p) => [p.requests, p.errors]),
      [
        [2, 1],
        [1, 0],
      ],
    );
    assert.equal(get?.series.at(-1)?.t, now - (now % RED_SLOT_MS));
    // A client that left before the answer (status 0) counts as an error.
    assert.equal(rows.find((r) => r.route === 'unmatched')?.errors, 1);
    assert.equal(rows[0]?.route, 'orders', 'busiest first');
  });

  it('estimates p50 and p99 within the histogram resolution', () => {
    const now = 1_000_000_000_000;
    const red = createRedRecorder(() => now);
    for (let i = 1; i <= 100; i++) red.record('r', 'GET', 200, i);
    const [row] = red.query(60_000);
    assert.ok(row !== undefined);
    assert.ok(row.p50Ms >= 50 && row.p50Ms <= 50 * 1.1, `p50 ${row.p50Ms}`);
    assert.ok(row.p99Ms >= 99 && row.p99Ms <= 99 * 1.1, `p99 ${row.p99Ms}`);
  });

  it('forgets slots older than the window, and reuses ring slots after 15 minutes', () => {
    let now = 1_000_000_000_000;
    const red = createRedRecorder(() => now);
    red.record('r', 'GET', 200, 1);
    now += 61_000;
    assert.deepEqual(red.query(60_000), [], 'outside a 60 s window');
    assert.equal(red.query(120_000)[0]?.requests, 1);
    now += 15 * 60_000;
    red.record('r', 'GET', 200, 1);
    assert.equal(red.query(15 * 60_000)[0]?.requests, 1, 'the old slot was reset, not added to');
  });
});
