/**
 * The shared types of rollouts: the phases, the record kept in a store and the store port.
 * A leaf file: it imports nothing of the package.
 */

/**
 * Where a rollout stands. `idle` before the first start; `progressing` while steps advance;
 * `paused` at a manual gate (too little canary traffic with `onInsufficientTraffic: pause`);
 * `promoted`, `rolled-back` and `aborted` are final until the next start.
 *
 * @example
 * ```ts
 * if (record.phase === RolloutPhase.RolledBack) console.log(record.history.at(-1)?.reason);
 * ```
 */
export const RolloutPhase = {
  Idle: 'idle',
  Progressing: 'progressing',
  Paused: 'paused',
  Promoted: 'promoted',
  RolledBack: 'rolled-back',
  Aborted: 'aborted',
} as const;
/** A value of {@link RolloutPhase}. */
export type RolloutPhase = (typeof RolloutPhase)[keyof typeof RolloutPhase];

/** One recorded transition of a rollout. */
export interface RolloutTransition {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly from: RolloutPhase;
  readonly to: RolloutPhase;
  /** The step index after the transition (`-1` when none). */
  readonly step: number;
  /** The canary's weight after the transition, 0 to 100. */
  readonly canaryWeight: number;
  /** Why, in words: `canary error rate 0.31 > 0.05 over 30s, 212 requests`. */
  readonly reason: string;
  /** Who: `controller:<replica>` or `operator`. */
  readonly by: string;
}

/** A rollout's state as a store keeps it; every write bumps `version`. */
export interface RolloutRecord {
  readonly name: string;
  /** 1 for the first write, one more per write (compare-and-set). */
  readonly version: number;
  readonly phase: RolloutPhase;
  /** Index into the steps (`-1` when idle or finished without a step). */
  readonly step: number;
  /** The canary's weight in force, 0 to 100; the stable subset has the rest. */
  readonly canaryWeight: number;
  /** When the current step's weights were set (ms since the epoch); the pause counts from here. */
  readonly stepStartedAt: number;
  /** When the record was last written (ms since the epoch). */
  readonly updatedAt: number;
  /** Transitions, oldest first (the newest {@link MAX_ROLLOUT_HISTORY} are kept). */
  readonly history: readonly RolloutTransition[];
}

/** How many transitions a record keeps. */
export const MAX_ROLLOUT_HISTORY = 200;

/**
 * Where rollout state lives, shared by every gateway replica: records written with
 * compare-and-set on `version`, and one lease per rollout that elects the replica which
 * advances its steps. Memory and SQLite stores ship with the gateway; Redis and PostgreSQL
 * ones with `@switchyard/adapter-redis` and `@switchyard/adapter-postgres`.
 *
 * Every method rejects with `SY_GATEWAY_ROLLOUT_STORE_FAILED` (or the adapter's own code)
 * when the backend fails.
 */
export interface RolloutStore {
  /** The record of `name`, or undefined when none was written. */
  get(name: string): Promise<RolloutRecord | undefined>;
  /** Every record, by name. */
  list(): Promise<RolloutRecord[]>;
  /**
   * Writes `next` if the stored version is `expectedVersion` (`0`: no record yet); `next.version`
   * must be `expectedVersion + 1`. Resolves `true` when written, `false` when another writer
   * got there first.
   */
  compareAndSet(next: RolloutRecord, expectedVersion: number): Promise<boolean>;
  /**
   * Takes or renews the lease of rollout `name` for `holder` until `nowMs + ttlMs`: `true` when
   * `holder` holds it now (it was free, expired, or already `holder`'s), `false` when another
   * holder's lease has not expired. Times are the caller's clock in ms since the epoch.
   */
  acquireLease(name: string, holder: string, ttlMs: number, nowMs: number): Promise<boolean>;
  /** Gives up `holder`'s lease of `name` (nothing when another holds it). */
  releaseLease(name: string, holder: string): Promise<void>;
  /** Frees what the store opened. Idempotent. */
  close(): Promise<void>;
}
