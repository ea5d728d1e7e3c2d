import { type SagaTransition, TransitionKind } from '../store.ts';

/** What an engine needs from a saga's history to resume driving it. */
export interface ReplayedSaga {
  /** The last `seq` written. */
  seq: number;
  /** Steps with a `step.started`: done, failed or in flight; the ones a compensation covers. */
  readonly started: Set<string>;
  /** Steps whose compensation started since the last operator retry. */
  readonly compStarted: Set<string>;
  readonly compDone: Set<string>;
  /** Failed compensation attempts per step since the last operator retry. */
  readonly compFailures: Map<string, number>;
}

/**
 * Folds a history into {@link ReplayedSaga}. A `saga.retried` resets the compensation attempt
 * counts and forgets compensations that had started but not finished, so they start afresh.
 *
 * @example
 * ```ts
 * replayHistory(await store.history(id)).started; // Set { 'createOrder', 'charge' }
 * ```
 */
export function replayHistory(history: readonly SagaTransition[]): ReplayedSaga {
  const state: ReplayedSaga = {
    seq: 0,
    started: new Set(),
    compStarted: new Set(),
    compDone: new Set(),
    compFailures: new Map(),
  };
  for (const t of history) applyTransition(state, t);
  return state;
}

/** Applies one transition to a {@link ReplayedSaga}. */
export function applyTransition(state: ReplayedSaga, t: SagaTransition): void {
  state.seq = Math.max(state.seq, t.seq);
  const step = t.step;
  switch (t.kind) {
    case TransitionKind.StepStarted:
      if (step !== undefined) state.started.add(step);
      break;
    case TransitionKind.CompensationStarted:
      if (step !== undefined) state.compStarted.add(step);
      break;
    case TransitionKind.CompensationDone:
      if (step !== undefined) state.compDone.add(step);
      break;
    case TransitionKind.CompensationFailed:
      if (step !== undefined) state.compFailures.set(step, t.attempt ?? (state.compFailures.get(step) ?? 0) + 1);
      break;
    case TransitionKind.SagaRetried:
      state.compFailures.clear();
      for (const s of state.compStarted) if (!state.compDone.has(s)) state.compStarted.delete(s);
      break;
    default:
      break;
  }
}
