import { createHash } from 'node:crypto';

/**
 * The durable consumer name of a (group, topic) pair under a subject prefix. NATS names may not contain `.`, `*`,
 * `>` or whitespace, and are best kept short, so the name is a readable part (dots become
 * `_`) cut to 64 characters plus a hash of the exact pair: `billing_order_approved-3f9c...`
 * cannot collide with `billing.order_approved` though both read the same.
 */
export function consumerName(group: string, topic: string, subjectPrefix: string): string {
  const readable = `${group}__${topic}`.replaceAll('.', '_').slice(0, 64);
  // The prefix is in the hash too: two buses sharing one stream with different prefixes get their own consumers.
  const hash = createHash('sha256').update(`${group}\u0000${subjectPrefix}.${topic}`).digest('hex').slice(0, 16);
  return `${readable}-${hash}`;
}
