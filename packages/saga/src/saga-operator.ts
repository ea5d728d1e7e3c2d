/**
 * Operator actions on a saga store without an engine of one's own: what `switchyard saga` and
 * the admin API use. A retried saga is made active again with no lease, so the first engine
 * that polls the store (any process sharing it) claims and drives it; an abort is final at once.
 */
import { type Clock, systemClock } from '@switchyard/core';
import { replayHistory } from './internal/engine-replay.ts';
import { abortedRecord, loadParked, operatorTransition, retriedRecord } from './internal/operator-writes.ts';
import {
  type SagaPage,
  type SagaQuery,
  type SagaRecord,
  type SagaStore,
  type SagaTransition,
  TransitionKind,
} from './store.ts';

/** Options of {@link createSagaOperator}. */
export interface SagaOperatorOptions {
  /** Who acts, recorded as the transition's `owner` (for example `cli:alice@host`). */
  readonly actor?: string;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** One saga with its whole history, as `show` returns it. */
export interface SagaWithHistory {
  readonly saga: SagaRecord;
  readonly history: readonly SagaTransition[];
}

/** Read and operate on the sagas of a store. */
export interface SagaOperator {
  /** Sagas newest first, filtered by status and name, a page at a time. */
  list(query?: SagaQuery): Promise<SagaPage>;
  /** One saga and every transition it went through, or `undefined` when the store has none by that id. */
  show(id: string): Promise<SagaWithHistory | undefined>;
  /**
   * Makes a parked saga active again the way it was going, with fresh attempt counts, and leaves
   * it unleased: the next takeover poll of any engine with its definition picks it up.
   *
   * @throws SwitchyardError `SY_SAGA_NOT_FOUND`, `SY_SAGA_NOT_PARKED`, `SY_SAGA_CONFLICT` (changed meanwhile)
   */
  retry(id: string, options?: { readonly reason?: string }): Promise<SagaRecord>;
  /**
   * Gives up on a parked saga: status `aborted`, no more work.
   *
   * @throws SwitchyardError `SY_SAGA_NOT_FOUND`, `SY_SAGA_NOT_PARKED`, `SY_SAGA_CONFLICT`
   */
  abort(id: string, options?: { readonly reason?: string }): Promise<SagaRecord>;
}

/**
 * Operator actions over a {@link SagaStore}. The store stays the caller's to close.
 *
 * @example
 * ```ts
 * const operator = createSagaOperator(store, { actor: 'cli:alice' });
 * const { sagas } = await operator.list({ status: 'parked' });
 * for (const saga of sagas) await operator.retry(saga.id, { reason: 'payments is back' });
 * ```
 */
export function createSagaOperator(store: SagaStore, options: SagaOperatorOptions = {}): SagaOperator {
  const clock = options.clock ?? systemClock;
  const actor = options.actor;
  const act = async (
    id: string,
    kind: typeof TransitionKind.SagaRetried | typeof TransitionKind.SagaAborted,
    reason: string | undefined,
  ): Promise<SagaRecord> => {
    const record = await loadParked(store, id);
    const replay = replayHistory(await store.history(id));
    const now = clock.now();
    const saga =
      kind === TransitionKind.SagaRetried
        ? retriedRecord(record, now, { owner: undefined, leaseUntil: undefined })
        : abortedRecord(record, now);
    const t = operatorTransition(record, replay.seq, kind, now, actor, reason);
    await store.update({ saga, transitions: [t] }, record.version);
    return saga;
  };
  return {
    list: (query) => store.list(query),
    async show(id) {
      const saga = await store.get(id);
      if (saga === undefined) return undefined;
      return { saga, history: await store.history(id) };
    },
    retry: (id, o) => act(id, TransitionKind.SagaRetried, o?.reason),
    abort: (id, o) => act(id, TransitionKind.SagaAborted, o?.reason),
  };
}
