/**
 * The column form of saga records and transitions, shared by the SQL stores (SQLite here,
 * PostgreSQL in its adapter) so both keep one mapping. JSON columns hold `JSON.stringify`
 * text, so a JSON `null` (the text `null`) stays apart from an absent value (SQL NULL).
 * Integer columns may come back as strings (`pg` returns `bigint` so): they are read with
 * `Number()`.
 */
import type { JsonValue, SwitchyardErrorJSON } from '@switchyard/core';
import type { SagaDirection, SagaRecord, SagaStatus, SagaTransition, TransitionKind } from './store.ts';

/** An integer column as a driver returns it. */
type IntColumn = number | string;

/** A saga row: the columns of a {@link SagaRecord}. */
export interface SagaRow {
  id: string;
  name: string;
  status: string;
  input: string;
  outputs: string;
  error: string | null;
  parked_direction: string | null;
  meta: string;
  created_at: IntColumn;
  updated_at: IntColumn;
  version: IntColumn;
  owner: string | null;
  lease_until: IntColumn | null;
}

/** A transition row: the columns of a {@link SagaTransition}. */
export interface TransitionRow {
  saga_id: string;
  seq: IntColumn;
  kind: string;
  at: IntColumn;
  step: string | null;
  attempt: IntColumn | null;
  output: string | null;
  error: string | null;
  owner: string | null;
  reason: string | null;
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const opt = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

/**
 * The column values of a saga record (absent optional fields as `null`).
 *
 * @example
 * ```ts
 * sagaColumns(record).outputs; // '{"reserve":{"reservationId":"r-1"}}'
 * ```
 */
export function sagaColumns(saga: SagaRecord): Omit<
  SagaRow,
  'created_at' | 'updated_at' | 'version' | 'lease_until'
> & {
  created_at: number;
  updated_at: number;
  version: number;
  lease_until: number | null;
} {
  return {
    id: saga.id,
    name: saga.name,
    status: saga.status,
    input: JSON.stringify(saga.input),
    outputs: JSON.stringify(saga.outputs),
    error: json(saga.error),
    parked_direction: opt(saga.parkedDirection),
    meta: JSON.stringify(saga.meta),
    created_at: saga.createdAt,
    updated_at: saga.updatedAt,
    version: saga.version,
    owner: opt(saga.owner),
    lease_until: opt(saga.leaseUntil),
  };
}

/** The column values of a transition, without its saga id (absent optional fields as `null`). */
export function transitionColumns(t: SagaTransition) {
  return {
    seq: t.seq,
    kind: t.kind,
    at: t.at,
    step: opt(t.step),
    attempt: opt(t.attempt),
    output: json(t.output),
    error: json(t.error),
    owner: opt(t.owner),
    reason: opt(t.reason),
  };
}

/** The record a row holds; absent optional fields are left out, not `undefined`. */
export function sagaFromRow(row: SagaRow): SagaRecord {
  const saga: { -readonly [K in keyof SagaRecord]: SagaRecord[K] } = {
    id: row.id,
    name: row.name,
    status: row.status as SagaStatus,
    input: JSON.parse(row.input) as JsonValue,
    outputs: JSON.parse(row.outputs) as Record<string, JsonValue>,
    meta: JSON.parse(row.meta) as Record<string, string>,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    version: Number(row.version),
  };
  if (row.error !== null) saga.error = JSON.parse(row.error) as SwitchyardErrorJSON;
  if (row.parked_direction !== null) saga.parkedDirection = row.parked_direction as SagaDirection;
  if (row.owner !== null) saga.owner = row.owner;
  if (row.lease_until !== null) saga.leaseUntil = Number(row.lease_until);
  return saga;
}

/** The transition a row holds; absent optional fields are left out. */
export function transitionFromRow(row: TransitionRow): SagaTransition {
  const t: { -readonly [K in keyof SagaTransition]: SagaTransition[K] } = {
    sagaId: row.saga_id,
    seq: Number(row.seq),
    kind: row.kind as TransitionKind,
    at: Number(row.at),
  };
  if (row.step !== null) t.step = row.step;
  if (row.attempt !== null) t.attempt = Number(row.attempt);
  if (row.output !== null) t.output = JSON.parse(row.output) as JsonValue;
  if (row.error !== null) t.error = JSON.parse(row.error) as SwitchyardErrorJSON;
  if (row.owner !== null) t.owner = row.owner;
  if (row.reason !== null) t.reason = row.reason;
  return t;
}
