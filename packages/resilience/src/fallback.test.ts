import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, SwitchyardError } from '@switchyard/core';
import { createBulkhead } from './bulkhead.ts';
import { createFallback, type FallbackEvent } from './fallback.ts';
import { wrap } from './wrap.ts';

describe('createFallback', () => {
  it('passes a success through untouched', async () => {
    const fallback = createFallback('cached');
    assert.equal(await fallback.execute(async () => 'fresh'), 'fresh');
    assert.equal(await fallback.execute(() => 'sync'), 'sync');
  });

  it('replaces a failure, async or sync, with the value', async () => {
    const fallback = createFallback({ items: [] as string[], stale: true });
    const events: FallbackEvent[] = [];
    fallback.onFallback((e) => events.push(e));
    const boom = new Error('boom');
    assert.deepEqual(
      await fallback.execute(async () => {
        throw boom;
      }),
      { items: [], stale: true },
    );
    assert.deepEqual(
      await fallback.execute(() => {
        throw new Error('sync');
      }),
      { items: [], stale: true },
    );
    assert.equal(events[0]?.error, boom);
    assert.equal(events.length, 2);
  });

  it('calls a function with the error and the context, and awaits it', async () => {
    const seen: unknown[] = [];
    const fallback = createFallback(async (err, ctx) => {
      seen.push(err, ctx.attempt);
      return `fallback for ${(err as Error).message}`;
    });
    assert.equal(
      await fallback.execute(async () => {
        throw new Error('x');
      }),
      'fallback for x',
    );
    assert.equal(seen[1], 1);
  });

  it("replaces an inner policy's refusal, such as a full bulkhead", async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1 });
    const policy = wrap(createFallback('busy'), bulkhead);
    const hold = new Promise<string>(() => {});
    void policy.execute(() => hold);
    assert.equal(await policy.execute(async () => 'never run'), 'busy');
  });

  it('never swallows SY_CANCELLED by default, nor any error once the caller has aborted', async () => {
    const fallback = createFallback('value');
    const cancelled = new SwitchyardError('SY_CANCELLED', 'gone');
    await assert.rejects(
      fallback.execute(async () => {
        throw cancelled;
      }),
      (err) => err === cancelled,
    );
    const controller = new AbortController();
    await assert.rejects(
      fallback.execute(async () => {
        controller.abort();
        throw new DOMException('aborted', 'AbortError');
      }, controller.signal),
      { name: 'AbortError' },
    );
  });

  it('uses handle to choose the errors it replaces', async () => {
    const fallback = createFallback(0, { handle: (err) => isSwitchyardError(err, 'SY_RESILIENCE_TIMEOUT') });
    assert.equal(
      await fallback.execute(async () => {
        throw new SwitchyardError('SY_RESILIENCE_TIMEOUT', 'slow');
      }),
      0,
    );
    await assert.rejects(
      fallback.execute(async () => {
        throw new Error('other');
      }),
      /other/,
    );
  });

  it('rejects with what the fallback function throws', async () => {
    const fallback = createFallback(() => {
      throw new Error('no fallback either');
    });
    await assert.rejects(
      fallback.execute(async () => {
        throw new Error('first');
      }),
      /no fallback either/,
    );
  });
});
