import type { JsonValue } from '@switchyard/core';
import type { OutboxEvent } from './outbox.ts';

/**
 * Where a choreographed saga stands. `running` until its completion or failure event;
 * `compensating` while the compensation events of its done steps are being published;
 * `completed` and `compensated` are final (a step done late still gets compensated).
 */
export const ChoreographyStatus = {
  Running: 'running',
  Completed: 'completed',
  Compensating: 'compensating',
  Compensated: 'compensated',
} as const;
/** A value of {@link ChoreographyStatus}. */
export type ChoreographyStatus = (typeof ChoreographyStatus)[keyof typeof ChoreographyStatus];

/** A step seen done. */
export interface ChoreographyStepState {
  readonly name: string;
  /** The id and payload of the event that completed it. */
  readonly messageId: string;
  readonly payload: JsonValue;
  /** Epoch milliseconds. */
  readonly completedAt: number;
}

/** A compensation event the saga owes, with the id it is published under on every attempt. */
export interface ChoreographyCompensation {
  readonly step: string;
  readonly topic: string;
  readonly id: string;
  readonly payload: JsonValue;
  readonly headers: Readonly<Record<string, string>>;
  /** Published to the bus, or written to the store's outbox. */
  readonly published: boolean;
}

/** One choreographed saga as a tracker keeps it. */
export interface ChoreographyRecord {
  /** The definition's name. */
  readonly name: string;
  readonly sagaId: string;
  readonly status: ChoreographyStatus;
  /** Epoch milliseconds of the start event, once seen (events may arrive out of order). */
  readonly startedAt?: number | undefined;
  /** Steps done, in the order their events were handled. */
  readonly steps: readonly ChoreographyStepState[];
  /** The event that failed the saga. */
  readonly failure?: { readonly topic: string; readonly messageId: string; readonly at: number } | undefined;
  /** In publishing order: the last step done is compensated first. */
  readonly compensations: readonly ChoreographyCompensation[];
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Incremented by every write. */
  readonly version: number;
}

/** What a change to a record writes: the new record, and events for the store's outbox. */
export interface ChoreographyChange {
  readonly record: ChoreographyRecord;
  /** Added to the outbox in the same transaction when the store has one ({@link ChoreographyStore.enqueues}). */
  readonly events?: readonly OutboxEvent[] | undefined;
}

/**
 * The port a choreography tracker keeps its sagas in. Implementations: memory (tests) and
 * SQLite (`createSqliteChoreographyStore`, which can write compensation events to an outbox in
 * the same transaction).
 */
export interface ChoreographyStore {
  /**
   * True when {@link ChoreographyStore.update} writes a change's `events` to an outbox in the
   * same transaction; the tracker then counts them as published at once.
   */
  readonly enqueues: boolean;
  /** Creates the table if missing. Idempotent. */
  init(): Promise<void>;
  get(name: string, sagaId: string): Promise<ChoreographyRecord | undefined>;
  /**
   * Atomically: reads the record (or `undefined`), calls `change` with it and, unless it
   * returns `undefined`, writes the new record (and its events, when the store enqueues).
   * Resolves with the record as stored after the call.
   */
  update(
    name: string,
    sagaId: string,
    change: (current: ChoreographyRecord | undefined) => ChoreographyChange | undefined,
  ): Promise<ChoreographyRecord | undefined>;
}
