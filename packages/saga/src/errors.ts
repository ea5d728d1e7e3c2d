import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/saga`. Codes are public API: never renamed or reused. */
export const sagaErrorCodes = {
  SY_SAGA_DUPLICATE_ID: {
    summary: 'A saga with this id already exists in the store; saga ids are unique.',
    retryable: false,
  },
  SY_SAGA_NOT_FOUND: {
    summary: 'No saga with this id is in the store.',
    retryable: false,
  },
  SY_SAGA_CONFLICT: {
    summary:
      'The saga changed in the store since it was read (another engine claimed it, or an operator retried or aborted it); nothing was written.',
    retryable: false,
  },
  SY_SAGA_STORE_CLOSED: {
    summary: 'The saga store was used after `close()`.',
    retryable: false,
  },
  SY_SAGA_STEP_TIMEOUT: {
    summary: 'A step or compensation did not finish within its `timeout`.',
    retryable: true,
  },
  SY_SAGA_STEP_FAILED: {
    summary:
      'A step failed with an error that is not a SwitchyardError; the original error is kept as `cause` and its message in the saga history.',
    retryable: false,
  },
  SY_SAGA_COMPENSATION_FAILED: {
    summary:
      'A compensation kept failing past its retry limit, so the saga was parked for an operator (retry or abort it).',
    retryable: false,
  },
  SY_SAGA_UNKNOWN_DEFINITION: {
    summary: 'The engine has no saga definition with this name (register it when creating the engine).',
    retryable: false,
  },
  SY_SAGA_NOT_PARKED: {
    summary: 'Only a parked saga can be retried or aborted by an operator.',
    retryable: false,
  },
  SY_SAGA_ENGINE_STOPPED: {
    summary: 'The saga engine was used after `stop()`, or before `start()`.',
    retryable: false,
  },
  SY_SAGA_INVALID_QUERY: {
    summary: 'A saga list query has a bad `limit` or a `cursor` that no previous page returned.',
    retryable: false,
  },
  SY_SAGA_NOT_JSON: {
    summary:
      'A saga input or step output is not a JSON value (a function, a class instance such as Date or Map, NaN, a bigint...); `details.path` names the bad field.',
    retryable: false,
  },
  SY_BUS_CLOSED: {
    summary: 'The event bus (or subscription) was used after `close()`.',
    retryable: false,
  },
  SY_BUS_INVALID_TOPIC: {
    summary:
      'A topic or consumer group name is not dot-separated words of letters, digits, `_` and `-` (no wildcards, no empty words).',
    retryable: false,
  },
  SY_BUS_UNAVAILABLE: {
    summary: 'The broker or log could not be reached, so the message was not published; `cause` is the driver error.',
    retryable: true,
  },
  SY_BUS_INVALID_MESSAGE: {
    summary:
      'A published message is not JSON (undefined, a function, a BigInt, NaN or Infinity, a class instance such as a Date or Map, a cycle), a header value is not a string, or the id is empty; nothing was published.',
    retryable: false,
  },
  SY_BUS_ACK_TIMEOUT: {
    summary:
      "A handler ran past its subscription's `ackTimeout`: its signal was aborted and the message counts as failed (redelivered after the backoff, or dead-lettered).",
    retryable: true,
  },
  SY_BUS_OUTBOX_FAILED: {
    summary:
      'An outbox table could not be read or written (a SQLite error such as a busy, locked or read-only database); the statement was rolled back; `cause` is the driver error.',
    retryable: true,
  },
  SY_BUS_INBOX_FAILED: {
    summary:
      'An inbox table could not be read or written (a SQLite error such as a busy, locked or read-only database); the effects were rolled back with it; `cause` is the driver error.',
    retryable: true,
  },
  SY_BUS_INBOX_ASYNC_EFFECTS: {
    summary:
      "The effects given to a SQLite inbox's `handleOnce` returned a promise; they must be synchronous so they run inside its transaction. Nothing was recorded.",
    retryable: false,
  },
  SY_SAGA_CHOREOGRAPHY_STORE_FAILED: {
    summary:
      'A choreography store could not read or write a saga (a SQLite error such as a busy or read-only database); nothing was written; `cause` is the driver error.',
    retryable: true,
  },
  SY_SAGA_STORE_FAILED: {
    summary:
      'The database of the saga store failed a statement (locked past `busyTimeout`, disk full, an I/O error), so the call did not take effect; `cause` is the driver error.',
    retryable: true,
  },
  SY_SAGA_SCHEMA_UNSUPPORTED: {
    summary:
      'The database of the saga store is not one this version can use: it is not a database at all, or a newer Switchyard migrated it; nothing was changed.',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link sagaErrorCodes}. */
export type SagaErrorCode = keyof typeof sagaErrorCodes;

/**
 * Creates an error with one of the saga package's codes.
 *
 * @example
 * ```ts
 * throw sagaError('SY_SAGA_NOT_FOUND', 'saga "order-42": not in the store');
 * ```
 */
export const sagaError = errorFactory(sagaErrorCodes);
