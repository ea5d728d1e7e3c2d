import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/adapter-nats`. Codes are public API: never renamed or reused. */
export const natsErrorCodes = {
  SY_NATS_CONNECT_FAILED: {
    summary:
      'The bus could not connect to any NATS server within `connectTimeout` (refused, unreachable, TLS or authentication failure); the message names the servers and `cause` is the driver error.',
    retryable: true,
  },
  SY_NATS_JETSTREAM_UNAVAILABLE: {
    summary:
      'The NATS server answered but JetStream is not enabled for the account, so there is nowhere to store messages.',
    retryable: false,
  },
  SY_NATS_STREAM_CONFLICT: {
    summary:
      'The stream could not be created or updated as the bus needs it: its subjects overlap another stream, or a stream of that name exists with settings that cannot be changed.',
    retryable: false,
  },
  SY_NATS_REQUEST_FAILED: {
    summary:
      'JetStream refused a request of the bus (a publish rejected by the stream, a consumer it could not create); `cause` is the JetStream API error.',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link natsErrorCodes}. */
export type NatsErrorCode = keyof typeof natsErrorCodes;

/**
 * Creates an error with one of the NATS adapter's codes.
 *
 * @example
 * ```ts
 * throw natsError('SY_NATS_STREAM_CONFLICT', 'stream "SWITCHYARD": subjects overlap stream "ORDERS"');
 * ```
 */
export const natsError = errorFactory(natsErrorCodes);
