import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkJsonTimestamp, checkScalar, parseJsonDuration } from './proto-json-scalars.ts';

describe('proto3 JSON scalars', () => {
  it('takes 64-bit integers as numbers or decimal strings, within range', () => {
    assert.equal(checkScalar('int64', '-9223372036854775808'), undefined);
    assert.equal(checkScalar('uint64', 12), undefined);
    assert.match(checkScalar('uint64', '-1') ?? '', /expected uint64 in 0\.\./);
    assert.match(checkScalar('int64', '1.5') ?? '', /expected int64: an integer \(a number or a decimal string\)/);
    assert.match(checkScalar('uint32', 4_294_967_296) ?? '', /expected uint32 in 0\.\.4294967295/);
    assert.match(checkScalar('int32', 1.5) ?? '', /expected int32: an integer, got number 1.5/);
  });

  it('takes floats as numbers, numeric strings or NaN/Infinity, and the rest by type', () => {
    for (const ok of [1.5, '2.5', 'NaN', '-Infinity']) assert.equal(checkScalar('double', ok), undefined, String(ok));
    assert.match(checkScalar('float', 'fast') ?? '', /expected float/);
    assert.match(checkScalar('bool', 'true') ?? '', /expected a boolean, got string "true"/);
    assert.equal(checkScalar('bytes', 'aGVsbG8='), undefined);
    assert.match(checkScalar('bytes', 'not base64!') ?? '', /expected base64/);
  });

  it('parses Durations as seconds with an "s" suffix and up to nine fractional digits', () => {
    assert.deepEqual(parseJsonDuration('0.25s'), { ok: true, seconds: 0.25 });
    assert.deepEqual(parseJsonDuration('-1.5s'), { ok: true, seconds: -1.5 });
    for (const bad of [250, '250ms', '1m', '.5s', '1.0000000001s', '315576000001s']) {
      assert.equal(parseJsonDuration(bad).ok, false, String(bad));
    }
  });

  it('checks RFC 3339 timestamps', () => {
    assert.equal(checkJsonTimestamp('2026-01-01T00:00:00.5Z'), undefined);
    assert.match(checkJsonTimestamp('2026-01-01') ?? '', /RFC 3339/);
  });
});
