import type { JsonValue, SwitchyardErrorJSON } from '@switchyard/core';

/**
 * Where a saga stands. `running` and `compensating` are active: an engine holds a lease on
 * them and drives them. `completed`, `compensated` and `aborted` are final. `parked` waits
 * for an operator to retry or abort it.
 */
export const SagaStatus = {
  Running: 'running',
  Compensating: 'compensating',
  Completed: 'completed',
  Compensated: 'compensated',
  Parked: 'parked',
  Aborted: 'aborted',
} as const;
/** A value of {@link SagaStatus}. */
export type SagaStatus = (typeof SagaStatus)[keyof typeof SagaStatus];

/** The statuses an engine drives; only these are claimed, leased and recovered. */
export const activeSagaStatuses: readonly SagaStatus[] = [SagaStatus.Running, SagaStatus.Compensating];

/** Which way a saga was going: executing steps, or compensating the ones done. */
export type SagaDirection = 'forward' | 'backward';

/** One saga as its store keeps it: the current state, not the history. */
export interface SagaRecord {
  readonly id: string;
  /** The definition's name; an engine resumes only sagas whose definition it knows. */
  readonly name: string;
  readonly status: SagaStatus;
  readonly input: JsonValue;
  /** The output of every step done (and not yet compensated), by step name. */
  readonly outputs: Readonly<Record<string, JsonValue>>;
  /** The error that turned the saga backward, or that parked it. */
  readonly error?: SwitchyardErrorJSON | undefined;
  /** For a parked saga: the way it was going when parked, so a retry resumes that way. */
  readonly parkedDirection?: SagaDirection | undefined;
  /** Propagation headers captured when the saga began (`traceparent`, `baggage`). */
  readonly meta: Readonly<Record<string, string>>;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * Incremented by every write of the record (including a claim, but not a lease renewal).
   * `update` succeeds only when the stored version is the one the writer read.
   */
  readonly version: number;
  /** The engine holding the lease, if any. */
  readonly owner?: string | undefined;
  /** Epoch milliseconds when the lease ends; after it another engine may claim the saga. */
  readonly leaseUntil?: number | undefined;
}

/** The kinds of transition the engine records, in the order a saga meets them. */
export const TransitionKind = {
  SagaStarted: 'saga.started',
  StepStarted: 'step.started',
  StepDone: 'step.done',
  StepFailed: 'step.failed',
  SagaCompensating: 'saga.compensating',
  CompensationStarted: 'compensation.started',
  CompensationDone: 'compensation.done',
  CompensationFailed: 'compensation.failed',
  SagaCompleted: 'saga.completed',
  SagaCompensated: 'saga.compensated',
  SagaParked: 'saga.parked',
  SagaResumed: 'saga.resumed',
  SagaRetried: 'saga.retried',
  SagaAborted: 'saga.aborted',
} as const;
/** A value of {@link TransitionKind}. */
export type TransitionKind = (typeof TransitionKind)[keyof typeof TransitionKind];

/** One entry of a saga's history. Written before the engine acts on it. */
export interface SagaTransition {
  readonly sagaId: string;
  /** 1, 2, 3... per saga, assigned by the engine; unique with `sagaId`. */
  readonly seq: number;
  readonly kind: TransitionKind;
  /** Epoch milliseconds. */
  readonly at: number;
  /** The step, for step and compensation transitions. */
  readonly step?: string | undefined;
  /** 1 for the first try of a step or compensation, 2 for the first retry... */
  readonly attempt?: number | undefined;
  /** A step's output (`step.done`). */
  readonly output?: JsonValue | undefined;
  /** The failure (`step.failed`, `compensation.failed`, `saga.parked`, `saga.compensating`). */
  readonly error?: SwitchyardErrorJSON | undefined;
  /** The engine that wrote it. */
  readonly owner?: string | undefined;
  /** Free text for operator actions (`saga.retried`, `saga.aborted`): who and why. */
  readonly reason?: string | undefined;
}

/** A write: the record as it is after the write, and the transitions that led there. */
export interface SagaWrite {
  /** The whole record after the write; `version` is the stored version + 1. */
  readonly saga: SagaRecord;
  /** Appended in order; may be empty. */
  readonly transitions: readonly SagaTransition[];
}

/** A filter for {@link SagaStore.list}. Results are newest first (`createdAt`, then `id`). */
export interface SagaQuery {
  readonly status?: SagaStatus | readonly SagaStatus[] | undefined;
  readonly name?: string | undefined;
  /** At most this many. @default 100 */
  readonly limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined;
}

/** One page of {@link SagaStore.list}. */
export interface SagaPage {
  readonly sagas: readonly SagaRecord[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string | undefined;
}

/**
 * The port a saga engine keeps its state in. Implementations: memory (tests), SQLite (the
 * embedded default), PostgreSQL (`@switchyard/adapter-postgres`); all pass
 * `sagaStoreContract` from `@switchyard/saga/testing`.
 *
 * Every method is atomic. `create` and `update` are durable when they resolve. Writes that
 * arrive together may be committed together (group commit), but each resolves or rejects on
 * its own: one conflicting write never fails another.
 */
export interface SagaStore {
  /** Creates or migrates the schema. Idempotent; safe when several processes call it at once. */
  init(): Promise<void>;
  /** Inserts a new saga and its first transitions. Rejects `SY_SAGA_DUPLICATE_ID` when the id exists. */
  create(write: SagaWrite): Promise<void>;
  /**
   * Replaces the record and appends the transitions, only when the stored `version` equals
   * `expectedVersion`. Otherwise nothing is written and it rejects `SY_SAGA_CONFLICT` (another
   * engine claimed the saga, or an operator changed it). Rejects `SY_SAGA_NOT_FOUND` for an
   * unknown id.
   */
  update(write: SagaWrite, expectedVersion: number): Promise<void>;
  /** The record, or `undefined`. */
  get(id: string): Promise<SagaRecord | undefined>;
  /** The transitions in `seq` order (empty for an unknown id). */
  history(id: string): Promise<SagaTransition[]>;
  list(query?: SagaQuery): Promise<SagaPage>;
  /**
   * Takes up to `limit` active sagas (`running`, `compensating`) that have no owner or whose
   * lease ended at or before `now`, oldest first, restricted to `names` when given: sets
   * `owner`, `leaseUntil` and bumps `version`. Two concurrent claims never return the same saga.
   */
  claim(request: ClaimRequest): Promise<SagaRecord[]>;
  /**
   * Extends `leaseUntil` of those of `ids` still owned by `owner` (the version is unchanged).
   * Resolves with the ids renewed; a missing id means the lease was lost.
   */
  renew(owner: string, ids: readonly string[], leaseUntil: number): Promise<string[]>;
  /** Releases the store's resources. Idempotent. Calls after it reject `SY_SAGA_STORE_CLOSED`. */
  close(): Promise<void>;
}

/** The argument of {@link SagaStore.claim}. */
export interface ClaimRequest {
  readonly owner: string;
  readonly now: number;
  readonly leaseUntil: number;
  readonly limit: number;
  /** Only sagas with one of these names (the definitions the engine knows). */
  readonly names?: readonly string[] | undefined;
}
