import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { guard, guardMethod } from './guard.ts';
import { createRetry } from './retry.ts';
import { createTimeout } from './timeout.ts';
import type { PolicyContext } from './types.ts';

const retry = () => createRetry({ maxAttempts: 3, backoff: { initial: 0 } }, { clock: new ManualClock() });

describe('guard', () => {
  it('calls fn under the policy with the context first, then the arguments', async () => {
    let calls = 0;
    const add = guard(retry(), async (ctx: PolicyContext, a: number, b: number) => {
      calls++;
      if (ctx.attempt < 2) throw new Error('flaky');
      return a + b;
    });
    assert.equal(await add(2, 3), 5);
    assert.equal(calls, 2);
  });

  it('passes `this` through, so a guarded function can be a method', async () => {
    const counter = {
      step: 10,
      add: guard(retry(), async function (this: { step: number }, _ctx: PolicyContext, n: number) {
        return n + this.step;
      }),
    };
    assert.equal(await counter.add(1), 11);
  });

  it('withSignal hands the caller signal to the policy', async () => {
    const controller = new AbortController();
    const read = guard(createTimeout({ timeout: '1s' }, { clock: new ManualClock() }), async (ctx, key: string) => ({
      key,
      aborted: ctx.signal.aborted,
    }));
    assert.deepEqual(await read.withSignal(controller.signal, 'k'), { key: 'k', aborted: false });
    controller.abort();
    await assert.rejects(read.withSignal(controller.signal, 'k'), (err) => isSwitchyardError(err, 'SY_CANCELLED'));
  });

  it('rejects a non-function', () => {
    assert.throws(
      () => guard(retry(), 'nope' as never),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID'),
    );
  });
});

describe('guardMethod', () => {
  class Inventory {
    calls = 0;
    readonly name = 'inv';
    async reserve(sku: string, qty: number): Promise<string> {
      this.calls++;
      if (this.calls === 1) throw new Error('flaky');
      return `${this.name}:${sku}x${qty}`;
    }
  }

  it('guards a prototype method with its args and `this`, and dispose() restores it', async () => {
    const inventory = new Inventory();
    const handle = guardMethod(inventory, 'reserve', retry());
    assert.equal(await inventory.reserve('sku-1', 2), 'inv:sku-1x2');
    assert.equal(inventory.calls, 2);
    handle.dispose();
    assert.equal(Object.hasOwn(inventory, 'reserve'), false);
    assert.equal(inventory.reserve, Inventory.prototype.reserve);
    handle.dispose(); // idempotent
  });

  it('guards an own method and puts it back on dispose', async () => {
    const original = async function (this: { base: number }, n: number) {
      return this.base + n;
    };
    const object = { base: 1, plus: original };
    const handle = guardMethod(object, 'plus', retry());
    assert.notEqual(object.plus, original);
    assert.equal(await object.plus(1), 2);
    handle[Symbol.dispose]();
    assert.equal(object.plus, original);
  });

  it('leaves a later replacement alone on dispose', () => {
    const object = { run: async () => 1 };
    const handle = guardMethod(object, 'run', retry());
    const later = async () => 2;
    object.run = later;
    handle.dispose();
    assert.equal(object.run, later);
  });

  it('rejects a name that is not a method', () => {
    const object = { value: 1, run: async () => 1 };
    assert.throws(
      () => guardMethod(object, 'value' as never, retry()),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('guardMethod.value'),
    );
  });
});
