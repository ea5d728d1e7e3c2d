/** Saga store rows to and from records; `pg` returns `bigint` as a string, parsed here. */
import type { JsonValue, SwitchyardErrorJSON } from '@switchyard/core';
import type {
  SagaDirection,
  SagaRecord,
  SagaStatus,
  SagaTransition,
  SagaWrite,
  TransitionKind,
} from '@switchyard/saga';

/** A `sagas` row as selected with `SAGA_COLUMNS`. */
export interface SagaRow {
  id: string;
  name: string;
  status: string;
  input: string;
  outputs: string;
  error: string | null;
  parked_direction: string | null;
  meta: string;
  created_at: string;
  updated_at: string;
  version: string;
  owner: string | null;
  lease_until: string | null;
}

/** A `saga_transitions` row. */
export interface TransitionRow {
  saga_id: string;
  seq: number;
  kind: string;
  at: string;
  step: string | null;
  attempt: number | null;
  output: string | null;
  error: string | null;
  owner: string | null;
  reason: string | null;
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const opt = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

/** One element of the batch statement's `$1`: JSON values travel as JSON text. */
export function batchItem(i: number, op: 'create' | 'update', write: SagaWrite, expected: number | null) {
  const saga = write.saga;
  return {
    i,
    op,
    id: saga.id,
    expected,
    name: saga.name,
    status: saga.status,
    // A saga's name, input, meta and creation time never change: only a create sends them.
    input: op === 'create' ? JSON.stringify(saga.input) : null,
    outputs: JSON.stringify(saga.outputs),
    error: json(saga.error),
    parked_direction: opt(saga.parkedDirection),
    meta: op === 'create' ? JSON.stringify(saga.meta) : null,
    created_at: saga.createdAt,
    updated_at: saga.updatedAt,
    version: saga.version,
    owner: opt(saga.owner),
    lease_until: opt(saga.leaseUntil),
    transitions: write.transitions.map((t) => ({
      seq: t.seq,
      kind: t.kind,
      at: t.at,
      step: opt(t.step),
      attempt: opt(t.attempt),
      output: json(t.output),
      error: json(t.error),
      owner: opt(t.owner),
      reason: opt(t.reason),
    })),
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

/** The transition a row holds. */
export function transitionFromRow(row: TransitionRow): SagaTransition {
  const t: { -readonly [K in keyof SagaTransition]: SagaTransition[K] } = {
    sagaId: row.saga_id,
    seq: row.seq,
    kind: row.kind as TransitionKind,
    at: Number(row.at),
  };
  if (row.step !== null) t.step = row.step;
  if (row.attempt !== null) t.attempt = row.attempt;
  if (row.output !== null) t.output = JSON.parse(row.output) as JsonValue;
  if (row.error !== null) t.error = JSON.parse(row.error) as SwitchyardErrorJSON;
  if (row.owner !== null) t.owner = row.owner;
  if (row.reason !== null) t.reason = row.reason;
  return t;
}
