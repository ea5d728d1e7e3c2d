import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { levelFor, parseLogLevelSpec } from './log-levels.ts';

describe('log level specs', () => {
  it('parses a default and per-component levels', () => {
    const spec = parseLogLevelSpec(' info , gateway=DEBUG, saga = warn ');
    assert.equal(spec.defaultLevel, 'info');
    assert.deepEqual(
      [...spec.components],
      [
        ['gateway', 'debug'],
        ['saga', 'warn'],
      ],
    );
    assert.equal(levelFor(spec, 'gateway', 'error'), 'debug');
    assert.equal(levelFor(spec, 'saga.outbox', 'error'), 'warn', 'dotted sub-components inherit');
    assert.equal(levelFor(spec, 'discovery', 'error'), 'info');
    assert.equal(
      levelFor(parseLogLevelSpec('gateway=debug'), 'discovery', 'error'),
      'error',
      'no default: the fallback',
    );
    assert.equal(levelFor(parseLogLevelSpec(''), 'x', 'info'), 'info');
  });

  it('rejects unknown levels and empty component names, naming the source', () => {
    for (const [spec, pattern] of [
      ['info,gateway=loud', /SWITCHYARD_LOG_LEVEL: "gateway=loud": expected one of trace, debug/],
      ['=debug', /SWITCHYARD_LOG_LEVEL: "=debug": missing component name/],
    ] as const) {
      assert.throws(
        () => parseLogLevelSpec(spec, 'SWITCHYARD_LOG_LEVEL'),
        (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && pattern.test(err.message),
      );
    }
  });
});
