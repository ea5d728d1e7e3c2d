import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import type { Delivery } from './bus.ts';
import { runHandler } from './handler-run.ts';

const delivery: Delivery = Object.freeze({
  id: 'm-1',
  topic: 'order.approved',
  payload: { orderId: 'o-1' },
  headers: {},
  publishedAt: 0,
  attempt: 1,
  group: 'billing',
});

describe('runHandler', () => {
  it('resolves ok when the handler resolves, with the signal left alone', async () => {
    let seen: AbortSignal | undefined;
    const outcome = await runHandler(
      async (_d, signal) => {
        seen = signal;
      },
      delivery,
      { ackTimeoutMs: 1_000 },
    );
    assert.deepEqual(outcome, { ok: true });
    assert.equal(seen?.aborted, false);
  });

  it('reports a rejection and a synchronous throw as failures, never rejecting', async () => {
    const boom = new Error('boom');
    assert.deepEqual(await runHandler(async () => Promise.reject(boom), delivery, { ackTimeoutMs: 1_000 }), {
      ok: false,
      error: boom,
      timedOut: false,
    });
    const sync = await runHandler(
      () => {
        throw boom;
      },
      delivery,
      { ackTimeoutMs: 1_000 },
    );
    assert.deepEqual(sync, { ok: false, error: boom, timedOut: false });
  });

  it('at ackTimeout aborts the signal with SY_BUS_ACK_TIMEOUT and fails without waiting for the handler', async () => {
    const clock = new ManualClock(0);
    let signal: AbortSignal | undefined;
    const running = runHandler(
      (_d, s) => {
        signal = s;
        return new Promise(() => {});
      },
      delivery,
      { ackTimeoutMs: 250, clock },
    );
    clock.advance(249);
    assert.equal(signal?.aborted, false);
    clock.advance(1);
    const outcome = await running;
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok && outcome.timedOut);
    assert.ok(!outcome.ok && isSwitchyardError(outcome.error, 'SY_BUS_ACK_TIMEOUT'));
    assert.match(String(!outcome.ok && (outcome.error as Error).message), /m-1.*order\.approved.*billing.*250ms/);
    assert.equal(signal?.aborted, true);
    assert.equal(clock.pending, 0);
  });

  it('cancels its timer once the handler settles', async () => {
    const clock = new ManualClock(0);
    await runHandler(async () => {}, delivery, { ackTimeoutMs: 250, clock });
    assert.equal(clock.pending, 0);
  });

  it('fails at once when the outer signal aborts, aborting the handler signal', async () => {
    const outer = new AbortController();
    let inner: AbortSignal | undefined;
    const running = runHandler(
      (_d, s) => {
        inner = s;
        return new Promise(() => {});
      },
      delivery,
      { ackTimeoutMs: 60_000, signal: outer.signal },
    );
    outer.abort(new Error('shutting down'));
    const outcome = await running;
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok && !outcome.timedOut);
    assert.equal(inner?.aborted, true);
  });
});
