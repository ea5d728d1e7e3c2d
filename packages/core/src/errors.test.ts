import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cancelledError, coreError, throwIfAborted } from './codes.ts';
import { errorFactory, isSwitchyardError, SwitchyardError } from './errors.ts';

describe('SwitchyardError', () => {
  it('carries code, details, retryable and cause', () => {
    const cause = new Error('socket hang up');
    const err = new SwitchyardError('SY_DEMO_BROKEN', 'it broke', { cause, details: { id: 'x' }, retryable: true });
    assert.equal(err.code, 'SY_DEMO_BROKEN');
    assert.equal(err.message, 'it broke');
    assert.equal(err.cause, cause);
    assert.deepEqual(err.details, { id: 'x' });
    assert.equal(err.retryable, true);
    assert.ok(err instanceof Error);
  });

  it('is recognised across copies through the global brand', () => {
    const foreign = new Error('from another copy');
    Object.defineProperty(foreign, Symbol.for('switchyard.error'), { value: true });
    assert.ok(foreign instanceof SwitchyardError);
    assert.ok(!(new Error('plain') instanceof SwitchyardError));
    assert.ok(!((null as unknown) instanceof SwitchyardError));
  });

  it('round-trips through JSON without stack or cause', () => {
    const err = new SwitchyardError('SY_DEMO_BROKEN', 'it broke', { cause: new Error('x'), details: { n: 1 } });
    const json = JSON.parse(JSON.stringify(err));
    assert.deepEqual(json, { code: 'SY_DEMO_BROKEN', message: 'it broke', details: { n: 1 } });
    const back = SwitchyardError.fromJSON(json);
    assert.ok(isSwitchyardError(back, 'SY_DEMO_BROKEN'));
    assert.deepEqual(back.details, { n: 1 });
    assert.equal(back.retryable, false);
  });

  it('isSwitchyardError matches on code', () => {
    const err = coreError('SY_CONFIG_INVALID', 'bad');
    assert.ok(isSwitchyardError(err));
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
    assert.ok(!isSwitchyardError(err, 'SY_CANCELLED'));
    assert.ok(!isSwitchyardError(new Error('x')));
  });

  it('errorFactory takes retryable from the table unless overridden', () => {
    const make = errorFactory({
      SY_A_SOFT: { summary: 'soft', retryable: true },
      SY_A_HARD: { summary: 'hard', retryable: false },
    });
    assert.equal(make('SY_A_SOFT', 'm').retryable, true);
    assert.equal(make('SY_A_HARD', 'm').retryable, false);
    assert.equal(make('SY_A_HARD', 'm', { retryable: true }).retryable, true);
  });

  it('cancellation keeps the abort reason as cause', () => {
    const controller = new AbortController();
    const reason = new Error('shutdown');
    controller.abort(reason);
    const err = cancelledError(controller.signal, 'upstream call');
    assert.ok(isSwitchyardError(err, 'SY_CANCELLED'));
    assert.equal(err.cause, reason);
    assert.throws(() => throwIfAborted(controller.signal), { code: 'SY_CANCELLED' });
    assert.doesNotThrow(() => throwIfAborted(new AbortController().signal));
    assert.doesNotThrow(() => throwIfAborted(undefined));
  });
});
