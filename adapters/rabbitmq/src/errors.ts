import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/adapter-rabbitmq`. Codes are public API: never renamed or reused. */
export const rabbitMqErrorCodes = {
  SY_RABBITMQ_CONNECT_FAILED: {
    summary:
      'The bus could not connect to RabbitMQ within `connectTimeout` (refused, unreachable, bad credentials or virtual host); the message names host:port and `cause` is the driver error.',
    retryable: true,
  },
  SY_RABBITMQ_TOPOLOGY_CONFLICT: {
    summary:
      'RabbitMQ refused to declare the exchange or a queue of the bus because one of that name exists with other settings (type, durability, queue type); nothing was changed.',
    retryable: false,
  },
  SY_RABBITMQ_PUBLISH_REJECTED: {
    summary:
      'RabbitMQ answered a publish with a negative confirm (it could not store the message, for example a queue over its length limit with reject-publish); the message may not have been stored.',
    retryable: true,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link rabbitMqErrorCodes}. */
export type RabbitMqErrorCode = keyof typeof rabbitMqErrorCodes;

/**
 * Creates an error with one of the RabbitMQ adapter's codes.
 *
 * @example
 * ```ts
 * throw rabbitMqError('SY_RABBITMQ_CONNECT_FAILED', 'cannot connect to 127.0.0.1:5672');
 * ```
 */
export const rabbitMqError = errorFactory(rabbitMqErrorCodes);
