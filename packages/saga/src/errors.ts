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
