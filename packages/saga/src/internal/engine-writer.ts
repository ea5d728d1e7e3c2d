import { type BackoffDelay, type Clock, cancelledError, isSwitchyardError } from '@switchyard/core';
import { sagaError } from '../errors.ts';
import type { SagaRecord, SagaStore, SagaWrite } from '../store.ts';
import { sleep } from './engine-sleep.ts';

/** What the store writer needs from its engine. */
export interface WriterEnv {
  readonly store: SagaStore;
  readonly clock: Clock;
  readonly backoff: BackoffDelay;
  /** Aborted when the engine stops for good (or is killed): retrying ends. */
  readonly stopSignal: AbortSignal;
  /** Told about each failed write that will be retried. */
  readonly onStoreError: (error: unknown, sagaId: string) => void;
}

/** How a write ended: durable, refused because someone else owns the saga now, or abandoned at stop. */
export type WriteResult = 'written' | 'lost' | 'stopped';

/**
 * Writes `write` with `update`, retrying store failures (database down) with backoff until the
 * write is durable or the engine stops. `SY_SAGA_CONFLICT` and `SY_SAGA_NOT_FOUND` mean another
 * engine or an operator owns the saga now: the result is `lost`. After a failure whose outcome is
 * unknown (the commit may have happened before the connection broke), a conflict is checked
 * against the stored record: if it is this very write, it counts as written.
 */
export async function writeUpdate(env: WriterEnv, write: SagaWrite, expectedVersion: number): Promise<WriteResult> {
  let ambiguous = false;
  for (let attempt = 1; ; attempt++) {
    if (env.stopSignal.aborted) return 'stopped';
    try {
      await env.store.update(write, expectedVersion);
      return 'written';
    } catch (error) {
      if (isSwitchyardError(error, 'SY_SAGA_CONFLICT') || isSwitchyardError(error, 'SY_SAGA_NOT_FOUND')) {
        if (ambiguous && (await isStored(env, write.saga))) return 'written';
        return 'lost';
      }
      ambiguous = true;
      env.onStoreError(error, write.saga.id);
      if (!(await sleep(env.clock, env.backoff(attempt), env.stopSignal))) return 'stopped';
    }
  }
}

/**
 * Inserts a new saga with `create`, retrying store failures like {@link writeUpdate}.
 *
 * @throws SwitchyardError `SY_SAGA_DUPLICATE_ID` (the id exists), `SY_SAGA_ENGINE_STOPPED` (the
 *   engine stopped before the write was durable), `SY_CANCELLED` (`signal` aborted)
 */
export async function writeCreate(env: WriterEnv, write: SagaWrite, signal: AbortSignal | undefined): Promise<void> {
  let ambiguous = false;
  const stop = signal === undefined ? env.stopSignal : AbortSignal.any([env.stopSignal, signal]);
  for (let attempt = 1; ; attempt++) {
    try {
      await env.store.create(write);
      return;
    } catch (error) {
      if (isSwitchyardError(error, 'SY_SAGA_DUPLICATE_ID')) {
        if (ambiguous && (await isStored(env, write.saga))) return;
        throw error;
      }
      ambiguous = true;
      env.onStoreError(error, write.saga.id);
      if (!(await sleep(env.clock, env.backoff(attempt), stop))) {
        if (signal?.aborted) throw cancelledError(signal, `saga "${write.saga.id}" begin`);
        throw sagaError('SY_SAGA_ENGINE_STOPPED', `saga "${write.saga.id}": the engine stopped before it was stored`, {
          cause: error,
        });
      }
    }
  }
}

/** True when the store holds exactly the record `saga` (an earlier, seemingly failed write landed). */
async function isStored(env: WriterEnv, saga: SagaRecord): Promise<boolean> {
  try {
    const stored = await env.store.get(saga.id);
    return (
      stored !== undefined &&
      stored.version === saga.version &&
      stored.owner === saga.owner &&
      stored.updatedAt === saga.updatedAt &&
      stored.status === saga.status &&
      JSON.stringify(stored.outputs) === JSON.stringify(saga.outputs)
    );
  } catch {
    return false;
  }
}
