import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  breakerTone,
  formatClock,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
  formatRelative,
  formatTimestamp,
  healthTone,
  processTone,
  sagaStatusTone,
  shortId,
} from '../assets/format.js';

describe('formatDuration', () => {
  it('picks the unit a person reads at a glance', () => {
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(0.42), '420 µs');
    assert.equal(formatDuration(1.5), '1.5 ms');
    assert.equal(formatDuration(2), '2 ms');
    assert.equal(formatDuration(12.34), '12.3 ms');
    assert.equal(formatDuration(310), '310 ms');
    assert.equal(formatDuration(1250), '1.25 s');
    assert.equal(formatDuration(30_000), '30 s');
    assert.equal(formatDuration(125_000), '2 min 05 s');
    assert.equal(formatDuration(3_720_000), '1 h 02 min');
  });
  it('keeps the sign and shows a dash for non-numbers', () => {
    assert.equal(formatDuration(-1500), '-1.5 s');
    assert.equal(formatDuration(Number.NaN), '–');
    assert.equal(formatDuration(Number.POSITIVE_INFINITY), '–');
  });
});

describe('formatPercent, formatCount, formatRate', () => {
  it('formats ratios as percentages with one decimal below 10%', () => {
    assert.equal(formatPercent(0), '0%');
    assert.equal(formatPercent(0.005), '0.5%');
    assert.equal(formatPercent(0.034), '3.4%');
    assert.equal(formatPercent(0.1), '10%');
    assert.equal(formatPercent(0.426), '43%');
    assert.equal(formatPercent(1), '100%');
    assert.equal(formatPercent(Number.NaN), '–');
  });
  it('groups counts and abbreviates large ones', () => {
    assert.equal(formatCount(999), '999');
    assert.equal(formatCount(1234), '1,234');
    assert.equal(formatCount(12_345), '12.3k');
    assert.equal(formatCount(4_500_000), '4.5M');
  });
  it('formats rates per second', () => {
    assert.equal(formatRate(0), '0/s');
    assert.equal(formatRate(0.4), '0.4/s');
    assert.equal(formatRate(0.017), '0.02/s');
    assert.equal(formatRate(0.001), '<0.01/s');
    assert.equal(formatRate(3.54), '3.5/s');
    assert.equal(formatRate(3), '3/s');
    assert.equal(formatRate(12.4), '12/s');
  });
});

describe('formatRelative', () => {
  const now = 1_700_000_000_000;
  it('says how long ago, in the largest whole unit', () => {
    assert.equal(formatRelative(now - 200, now), 'just now');
    assert.equal(formatRelative(now - 5_500, now), '5 s ago');
    assert.equal(formatRelative(now - 3 * 60_000, now), '3 min ago');
    assert.equal(formatRelative(now - 2 * 3_600_000, now), '2 h ago');
    assert.equal(formatRelative(now - 4 * 86_400_000, now), '4 d ago');
  });
  it('says "in" for times ahead (clock skew between hosts)', () => {
    assert.equal(formatRelative(now + 10_000, now), 'in 10 s');
  });
});

describe('formatTimestamp and formatClock', () => {
  it('print local wall-clock time', () => {
    const t = new Date(2026, 0, 2, 3, 4, 5, 67).getTime();
    assert.equal(formatTimestamp(t), '2026-01-02 03:04:05');
    assert.equal(formatClock(t), '03:04:05.067');
  });
});

describe('shortId', () => {
  it('shortens long ids with an ellipsis and leaves short ones', () => {
    assert.equal(shortId('4bf92f3577b34da6a3ce929d0e0e4736'), '4bf92f35…');
    assert.equal(shortId('abc'), 'abc');
    assert.equal(shortId('abcdef', 6), 'abcdef');
  });
});

describe('tones', () => {
  it('maps states to tones so colour matches meaning', () => {
    assert.equal(sagaStatusTone('completed'), 'ok');
    assert.equal(sagaStatusTone('parked'), 'bad');
    assert.equal(sagaStatusTone('compensating'), 'active');
    assert.equal(sagaStatusTone('compensated'), 'warn');
    assert.equal(sagaStatusTone('aborted'), 'neutral');
    assert.equal(healthTone('passing'), 'ok');
    assert.equal(healthTone('warning'), 'warn');
    assert.equal(healthTone('critical'), 'bad');
    assert.equal(breakerTone('closed'), 'ok');
    assert.equal(breakerTone('half-open'), 'warn');
    assert.equal(breakerTone('open'), 'bad');
    assert.equal(breakerTone('isolated'), 'bad');
    assert.equal(processTone('crash-loop'), 'bad');
    assert.equal(processTone(undefined), 'neutral');
  });
});
