/**
 * The writes behind an operator's retry and abort of a parked saga, shared by the engine (which
 * then drives a retried saga itself) and {@link createSagaOperator} (which leaves it to whichever
 * engine claims it first).
 */
import type { SwitchyardErrorJSON } from '@switchyard/core';
import { sagaError } from '../errors.ts';
import { type SagaRecord, SagaStatus, type SagaStore, type SagaTransition, TransitionKind } from '../store.ts';

/** Reads a saga and checks that it is parked. @throws `SY_SAGA_NOT_FOUND`, `SY_SAGA_NOT_PARKED` */
export async function loadParked(store: SagaStore, id: string): Promise<SagaRecord> {
  const record = await store.get(id);
  if (record === undefined) {
    throw sagaError('SY_SAGA_NOT_FOUND', `saga "${id}": not in the store`, { details: { sagaId: id } });
  }
  if (record.status !== SagaStatus.Parked) {
    throw sagaError(
      'SY_SAGA_NOT_PARKED',
      `saga "${id}": is ${record.status}; only a parked saga can be retried or aborted`,
      {
        details: { sagaId: id, status: record.status },
      },
    );
  }
  return record;
}

/** The operator's transition, numbered after the last one in the history. */
export function operatorTransition(
  record: SagaRecord,
  lastSeq: number,
  kind: TransitionKind,
  now: number,
  owner: string | undefined,
  reason: string | undefined,
): SagaTransition {
  return {
    sagaId: record.id,
    seq: lastSeq + 1,
    kind,
    at: now,
    ...(owner === undefined ? {} : { owner }),
    ...(reason === undefined ? {} : { reason }),
  };
}

/**
 * The record of a retried saga: active again the way it was going, with the error it had before
 * parking when it was compensating. With an `owner` and `leaseUntil` that engine holds it; without,
 * it is free for the first engine that claims it.
 */
export function retriedRecord(
  record: SagaRecord,
  now: number,
  lease: { readonly owner?: string | undefined; readonly leaseUntil?: number | undefined },
): SagaRecord {
  const forward = record.parkedDirection === 'forward';
  return {
    ...record,
    status: forward ? SagaStatus.Running : SagaStatus.Compensating,
    parkedDirection: undefined,
    error: forward ? undefined : errorBeforeParking(record.error),
    version: record.version + 1,
    updatedAt: now,
    owner: lease.owner,
    leaseUntil: lease.leaseUntil,
  };
}

/** The record of an aborted saga: final, with no lease. */
export function abortedRecord(record: SagaRecord, now: number): SagaRecord {
  return {
    ...record,
    status: SagaStatus.Aborted,
    parkedDirection: undefined,
    version: record.version + 1,
    updatedAt: now,
    owner: undefined,
    leaseUntil: undefined,
  };
}

/** The error a saga had before it was parked (kept in the park error's details), for a retry. */
function errorBeforeParking(error: SwitchyardErrorJSON | undefined): SwitchyardErrorJSON | undefined {
  const before = error?.details?.sagaError;
  if (typeof before !== 'object' || before === null || Array.isArray(before)) return error;
  const { code, message } = before;
  if (typeof code !== 'string' || typeof message !== 'string') return error;
  const restored: SwitchyardErrorJSON = { code, message };
  if (typeof before.details === 'object' && before.details !== null && !Array.isArray(before.details)) {
    restored.details = before.details;
  }
  if (before.retryable === true) restored.retryable = true;
  return restored;
}

export { TransitionKind };
