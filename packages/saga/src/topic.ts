import { sagaError } from './errors.ts';

const word = '[A-Za-z0-9_-]+';
const namePattern = new RegExp(`^${word}(\\.${word})*$`);

/** The longest topic or group name accepted (NATS subjects and AMQP routing keys allow more). */
export const MAX_TOPIC_LENGTH = 200;

/**
 * Throws `SY_BUS_INVALID_TOPIC` unless `name` is dot-separated words of letters, digits,
 * `_` and `-`: a name every bus can carry as-is (a NATS subject, an AMQP routing key, a
 * SQLite column) with no wildcard meaning. `what` names the argument in the message.
 *
 * @example
 * ```ts
 * assertTopicName('order.approved');          // ok
 * assertTopicName('order.*');                 // throws SY_BUS_INVALID_TOPIC
 * assertTopicName('billing', 'consumer group'); // ok
 * ```
 */
export function assertTopicName(name: string, what = 'topic'): void {
  if (typeof name !== 'string' || name.length > MAX_TOPIC_LENGTH || !namePattern.test(name)) {
    throw sagaError(
      'SY_BUS_INVALID_TOPIC',
      `${what} ${JSON.stringify(name)}: expected dot-separated words of letters, digits, "_" and "-" ` +
        `(at most ${MAX_TOPIC_LENGTH} characters, no wildcards), such as "order.approved"`,
      { details: { [what]: String(name) } },
    );
  }
}
