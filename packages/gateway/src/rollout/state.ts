import { MAX_ROLLOUT_HISTORY, RolloutPhase, type RolloutRecord } from './types.ts';

/** The phases after which nothing moves until the next start. */
const FINAL: ReadonlySet<RolloutPhase> = new Set([
  RolloutPhase.Promoted,
  RolloutPhase.RolledBack,
  RolloutPhase.Aborted,
]);

/**
 * Whether `phase` is active: steps run (`progressing`) or wait for an operator (`paused`).
 *
 * @example
 * ```ts
 * isRolloutActive(RolloutPhase.Paused); // true
 * ```
 */
export function isRolloutActive(phase: RolloutPhase): boolean {
  return phase === RolloutPhase.Progressing || phase === RolloutPhase.Paused;
}

/**
 * Whether `phase` is final (`promoted`, `rolled-back`, `aborted`).
 *
 * @example
 * ```ts
 * isRolloutFinal(RolloutPhase.Promoted); // true
 * ```
 */
export function isRolloutFinal(phase: RolloutPhase): boolean {
  return FINAL.has(phase);
}

/**
 * The record of a rollout that was never started (version 0: not in the store).
 *
 * @example
 * ```ts
 * idleRecord('orders', Date.now()).phase; // 'idle'
 * ```
 */
export function idleRecord(name: string, now: number): RolloutRecord {
  return {
    name,
    version: 0,
    phase: RolloutPhase.Idle,
    step: -1,
    canaryWeight: 0,
    stepStartedAt: now,
    updatedAt: now,
    history: [],
  };
}

/** What a transition changes. */
export interface TransitionInput {
  readonly to: RolloutPhase;
  readonly step: number;
  readonly canaryWeight: number;
  readonly reason: string;
  readonly by: string;
  readonly now: number;
  /** Whether the step's clock restarts (a new step, a start); otherwise `stepStartedAt` stays. */
  readonly newStep: boolean;
}

/**
 * The next record: one more version, the transition appended to the history (the newest
 * {@link MAX_ROLLOUT_HISTORY} kept).
 *
 * @example
 * ```ts
 * const next = transition(record, { to: 'rolled-back', step: record.step, canaryWeight: 0, reason: 'canary error rate 0.3 > 0.05', by: 'operator', now, newStep: false });
 * ```
 */
export function transition(record: RolloutRecord, input: TransitionInput): RolloutRecord {
  const history = [
    ...record.history,
    {
      at: input.now,
      from: record.phase,
      to: input.to,
      step: input.step,
      canaryWeight: input.canaryWeight,
      reason: input.reason,
      by: input.by,
    },
  ];
  return {
    name: record.name,
    version: record.version + 1,
    phase: input.to,
    step: input.step,
    canaryWeight: input.canaryWeight,
    stepStartedAt: input.newStep ? input.now : record.stepStartedAt,
    updatedAt: input.now,
    history: history.slice(-MAX_ROLLOUT_HISTORY),
  };
}
