/**
 * Type tests, checked by `tsc -b` and never run: each line fails to compile when an inferred
 * type drifts. `Equal` is exact (not mere assignability); `@ts-expect-error` marks misuse that
 * must stay an error.
 */
import { createBulkhead } from './bulkhead.ts';
import { createFallback } from './fallback.ts';
import { guard, guardMethod } from './guard.ts';
import { createRetry } from './retry.ts';
import { createTimeout } from './timeout.ts';
import type { Policy, PolicyContext } from './types.ts';
import { wrap } from './wrap.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

export function guardTypes(): void {
  const retry = createRetry();
  const timeout = createTimeout({ timeout: '1s' });

  // guard infers arguments and result; the context is not part of the guarded signature.
  const getUser = guard(retry, async (_ctx: PolicyContext, id: string, verbose?: boolean) => ({ id, verbose }));
  expectType<Equal<Parameters<typeof getUser>, [id: string, verbose?: boolean | undefined]>>();
  expectType<Equal<ReturnType<typeof getUser>, Promise<{ id: string; verbose: boolean | undefined }>>>();
  expectType<Equal<ReturnType<typeof getUser.withSignal>, Promise<{ id: string; verbose: boolean | undefined }>>>();
  // @ts-expect-error wrong argument type
  void getUser(42);
  void getUser.withSignal(AbortSignal.timeout(10), 'id');
  // @ts-expect-error withSignal takes the signal first
  void getUser.withSignal('id');

  // A synchronous fn still gives a promise.
  const sum = guard(timeout, (_ctx, a: number, b: number) => a + b);
  expectType<Equal<ReturnType<typeof sum>, Promise<number>>>();

  // A fallback's value joins the result type, alone or inside wrap.
  const withDefault = guard(createFallback(null), async (_ctx, id: string) => id.length);
  expectType<Equal<ReturnType<typeof withDefault>, Promise<number | null>>>();
  const composed = wrap(createFallback('cached' as const), retry, timeout);
  expectType<Equal<Awaited<ReturnType<typeof composed.execute<number>>>, number | 'cached'>>();
  const plain = wrap(retry, createBulkhead({ maxConcurrent: 1 }), timeout);
  expectType<Equal<Awaited<ReturnType<typeof plain.execute<number>>>, number>>();
  // A composition without a fallback is a plain Policy.
  const asPolicy: Policy = plain;
  void asPolicy;
  // @ts-expect-error a fallback's extra result type keeps it from posing as a plain Policy
  const notPolicy: Policy = composed;
  void notPolicy;

  // guardMethod accepts only methods returning promises, and a fallback of the method's result type.
  const client = {
    count: 1,
    async reserve(sku: string): Promise<{ sku: string }> {
      return { sku };
    },
    syncName(): string {
      return 'x';
    },
  };
  guardMethod(client, 'reserve', retry);
  guardMethod(client, 'reserve', createFallback({ sku: 'none' }));
  // @ts-expect-error not a method
  guardMethod(client, 'count', retry);
  // @ts-expect-error not async
  guardMethod(client, 'syncName', retry);
  // @ts-expect-error the fallback value does not fit the method's result
  guardMethod(client, 'reserve', createFallback(42));
}
