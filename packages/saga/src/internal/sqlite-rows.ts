/**
 * Rows of the SQLite saga store to and from records. JSON columns hold `JSON.stringify`
 * text, so a JSON `null` (the text `null`) stays apart from an absent value (SQL NULL).
 */
import type { JsonValue, SwitchyardErrorJSON } from '@switchyard/core';
import type { SagaDirection, SagaRecord, SagaStatus, SagaTransition, TransitionKind } from '../store.ts';

/** A value SQLite binds. */
export type SqlValue = string | number | null;

/** A `sy_sagas` row as `node:sqlite` returns it. */
export interface SagaRow {
  id: string;
  name: string;
  status: string;
  input: string;
  outputs: string;
  error: string | null;
  parked_direction: string | null;
  meta: string;
  created_at: number;
  updated_at: number;
  version: number;
  owner: string | null;
  lease_until: number | null;
}

/** A `sy_saga_transitions` row. */
export interface TransitionRow {
  saga_id: string;
  seq: number;
  kind: string;
  at: number;
  step: string | null;
  attempt: number | null;
  output: string | null;
  error: string | null;
  owner: string | null;
  reason: string | null;
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const opt = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

/** The named parameters of a saga row (`$id`, `$name`...). */
export function sagaParams(saga: SagaRecord): Record<string, SqlValue> {
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

/** The named parameters of a transition row, stored under `sagaId` (the written saga's id). */
export function transitionParams(sagaId: string, t: SagaTransition): Record<string, SqlValue> {
  return {
    saga_id: sagaId,
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
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
  if (row.error !== null) saga.error = JSON.parse(row.error) as SwitchyardErrorJSON;
  if (row.parked_direction !== null) saga.parkedDirection = row.parked_direction as SagaDirection;
  if (row.owner !== null) saga.owner = row.owner;
  if (row.lease_until !== null) saga.leaseUntil = row.lease_until;
  return saga;
}

/** The transition a row holds. */
export function transitionFromRow(row: TransitionRow): SagaTransition {
  const t: { -readonly [K in keyof SagaTransition]: SagaTransition[K] } = {
    sagaId: row.saga_id,
    seq: row.seq,
    kind: row.kind as TransitionKind,
    at: row.at,
  };
  if (row.step !== null) t.step = row.step;
  if (row.attempt !== null) t.attempt = row.attempt;
  if (row.output !== null) t.output = JSON.parse(row.output) as JsonValue;
  if (row.error !== null) t.error = JSON.parse(row.error) as SwitchyardErrorJSON;
  if (row.owner !== null) t.owner = row.owner;
  if (row.reason !== null) t.reason = row.reason;
  return t;
}
