import { isSwitchyardError } from '@switchyard/core';

/** Headers added to a dead-lettered message, beside the headers it was published with. */
export const DeadLetterHeader = {
  /** The consumer group whose handler kept failing. */
  Group: 'sy-dead-letter-group',
  /** The last failure: `CODE: message` for a SwitchyardError, else the message; truncated. */
  Error: 'sy-dead-letter-error',
  /** How many deliveries were made, as a decimal string (the subscription's `maxDeliveries`). */
  Deliveries: 'sy-deliveries',
  /** The topic the message was published to (useful when several topics share a dead-letter topic). */
  Topic: 'sy-dead-letter-topic',
} as const;

/** The longest `sy-dead-letter-error` value, in characters; longer messages end with "…". */
export const MAX_DEAD_LETTER_ERROR_LENGTH = 1000;

/** The failed delivery, as {@link deadLetterHeaders} needs it. */
export interface DeadLetterFailure {
  readonly topic: string;
  readonly group: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Deliveries made, the last one included. */
  readonly deliveries: number;
  /** What the last delivery failed with. */
  readonly error: unknown;
}

/**
 * The headers a dead-lettered message carries: its own headers, then `sy-dead-letter-group`,
 * `sy-dead-letter-error`, `sy-deliveries` and `sy-dead-letter-topic` (these override any header
 * of the same name, so a message dead-lettered twice tells its last failure).
 *
 * @example
 * ```ts
 * const headers = deadLetterHeaders({ topic: 'order.approved', group: 'billing', headers: {}, deliveries: 5, error: new Error('boom') });
 * headers['sy-dead-letter-error']; // "boom"
 * ```
 */
export function deadLetterHeaders(failure: DeadLetterFailure): Readonly<Record<string, string>> {
  return Object.freeze({
    ...failure.headers,
    [DeadLetterHeader.Group]: failure.group,
    [DeadLetterHeader.Error]: describeFailure(failure.error),
    [DeadLetterHeader.Deliveries]: String(failure.deliveries),
    [DeadLetterHeader.Topic]: failure.topic,
  });
}

/** `CODE: message` for a SwitchyardError, the message of another Error, else `String(error)`; truncated. */
export function describeFailure(error: unknown): string {
  let text: string;
  if (isSwitchyardError(error)) text = `${error.code}: ${error.message}`;
  else if (error instanceof Error) text = error.message || error.name;
  else text = String(error);
  if (text.length <= MAX_DEAD_LETTER_ERROR_LENGTH) return text;
  let end = MAX_DEAD_LETTER_ERROR_LENGTH - 1;
  // Never cut a surrogate pair in two: a lone surrogate is not valid UTF-8 on the wire.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
