import { randomUUID } from 'node:crypto';

/**
 * A new message id: a random UUID (v4), unique enough that an inbox can treat two deliveries
 * with the same id as the same message.
 *
 * @example
 * ```ts
 * const id = newMessageId(); // "3b241101-e2bb-4255-8caf-4136c566a962"
 * ```
 */
export function newMessageId(): string {
  return randomUUID();
}
