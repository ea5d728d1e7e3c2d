import { createHash } from 'node:crypto';

/** The queues of one (group, topic) pair. */
export interface QueueNames {
  /** Where the group's members consume: bound to the exchange with routing key = topic. */
  readonly work: string;
  /** Where a failed message waits out its backoff before it is dead-lettered back to `work`. */
  readonly retry: string;
}

/**
 * `<exchange>:<group>:<topic>` (`:` cannot occur in the three names, so two pairs never share
 * a queue), and `<that>:retry`. Names longer than RabbitMQ's 255 bytes are cut, with a hash of
 * the exact pair to keep them apart.
 */
export function queueNames(exchange: string, group: string, topic: string): QueueNames {
  let work = `${exchange}:${group}:${topic}`;
  if (work.length > 200) {
    const hash = createHash('sha256').update(work).digest('hex').slice(0, 16);
    work = `${work.slice(0, 180)}~${hash}`;
  }
  return { work, retry: `${work}:retry` };
}
