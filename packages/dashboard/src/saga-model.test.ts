import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCompensationKind, summariseSteps, transitionLabel } from '../assets/saga-model.js';

const declined = { code: 'SY_SHOP_PAYMENT_DECLINED', message: 'declined' };

describe('summariseSteps', () => {
  it('folds a compensated saga into steps with their compensations', () => {
    const history = [
      { seq: 1, kind: 'saga.started', at: 0 },
      { seq: 2, kind: 'step.started', at: 1, step: 'create', attempt: 1 },
      { seq: 3, kind: 'step.done', at: 2, step: 'create' },
      { seq: 4, kind: 'step.started', at: 3, step: 'charge', attempt: 1 },
      { seq: 5, kind: 'step.failed', at: 4, step: 'charge', error: declined },
      { seq: 6, kind: 'step.started', at: 5, step: 'charge', attempt: 2 },
      { seq: 7, kind: 'step.failed', at: 6, step: 'charge', error: declined },
      { seq: 8, kind: 'saga.compensating', at: 7, error: declined },
      { seq: 9, kind: 'compensation.started', at: 8, step: 'create', attempt: 1 },
      { seq: 10, kind: 'compensation.done', at: 9, step: 'create' },
      { seq: 11, kind: 'saga.compensated', at: 10 },
    ];
    // Arrival order does not matter: seq does.
    const steps = summariseSteps([...history].reverse());
    assert.deepEqual(steps, [
      {
        step: 'create',
        forward: 'done',
        attempts: 1,
        compensation: 'done',
        compensationAttempts: 1,
        startedAt: 1,
        endedAt: 9,
        error: null,
      },
      {
        step: 'charge',
        forward: 'failed',
        attempts: 2,
        compensation: null,
        compensationAttempts: 0,
        startedAt: 3,
        endedAt: 6,
        error: declined,
      },
    ]);
  });
  it('shows a running step and a failed compensation', () => {
    const steps = summariseSteps([
      { seq: 1, kind: 'step.started', at: 0, step: 'a', attempt: 1 },
      { seq: 2, kind: 'step.done', at: 1, step: 'a' },
      { seq: 3, kind: 'compensation.started', at: 2, step: 'a', attempt: 1 },
      { seq: 4, kind: 'compensation.failed', at: 3, step: 'a', error: declined },
      { seq: 5, kind: 'step.started', at: 4, step: 'b', attempt: 1 },
    ]);
    assert.equal(steps[0]?.compensation, 'failed');
    assert.deepEqual(steps[0]?.error, declined);
    assert.equal(steps[1]?.forward, 'running');
    assert.equal(steps[1]?.endedAt, null);
  });
  it('is empty for a saga with no step transitions', () => {
    assert.deepEqual(summariseSteps([{ seq: 1, kind: 'saga.started', at: 0 }]), []);
  });
});

describe('isCompensationKind and transitionLabel', () => {
  it('tells the backward path from the forward one', () => {
    assert.equal(isCompensationKind('compensation.done'), true);
    assert.equal(isCompensationKind('saga.compensating'), true);
    assert.equal(isCompensationKind('saga.compensated'), true);
    assert.equal(isCompensationKind('step.failed'), false);
    assert.equal(isCompensationKind('saga.retried'), false);
  });
  it('reads kinds as words', () => {
    assert.equal(transitionLabel('compensation.started'), 'compensation started');
  });
});
