import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  ReplayPolicy,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { natsError } from '../errors.ts';

/**
 * How much longer the server waits for an acknowledgement than the handler may run: the
 * member's own ack timeout (which redelivers with backoff) always fires first, and the
 * server's redelivery only covers a member that died or lost its connection.
 */
export const ACK_WAIT_GRACE_MS = 2000;

/** At most this many messages of one group may be unacknowledged (running, or waiting for a redelivery). */
export const MAX_ACK_PENDING = 1000;

/** What a group's durable consumer is made of. */
export interface ConsumerSpec {
  readonly stream: string;
  readonly name: string;
  readonly filterSubject: string;
  readonly ackTimeoutMs: number;
}

/**
 * Creates the group's durable consumer, or updates the settings a member may change (the ack
 * wait) on an existing one. `deliver_policy: new` applies only at creation: a new group gets
 * what is published from then on, an existing one resumes where it stopped. `max_deliver` is
 * unlimited because the bus dead-letters itself: a message the server stopped delivering
 * would vanish without reaching the dead-letter topic.
 */
export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const ackWait = nanos(spec.ackTimeoutMs + ACK_WAIT_GRACE_MS);
  for (let attempt = 0; ; attempt++) {
    const existing = await consumerConfig(jsm, spec);
    if (existing !== undefined) {
      if (existing.filter_subject !== spec.filterSubject) {
        throw natsError(
          'SY_NATS_REQUEST_FAILED',
          `NATS event bus: consumer ${JSON.stringify(spec.name)} of stream ${JSON.stringify(spec.stream)} exists ` +
            `with filter ${JSON.stringify(existing.filter_subject)}, not ${JSON.stringify(spec.filterSubject)}`,
          { details: { stream: spec.stream, consumer: spec.name } },
        );
      }
      if (existing.ack_wait !== ackWait) await jsm.consumers.update(spec.stream, spec.name, { ack_wait: ackWait });
      return;
    }
    const config: Partial<ConsumerConfig> = {
      durable_name: spec.name,
      filter_subject: spec.filterSubject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      replay_policy: ReplayPolicy.Instant,
      ack_wait: ackWait,
      max_deliver: -1,
      max_ack_pending: MAX_ACK_PENDING,
    };
    try {
      await jsm.consumers.add(spec.stream, config);
      return;
    } catch (err) {
      // Another member created it at the same moment: read it again, once.
      if (attempt === 0 && err instanceof JetStreamApiError) continue;
      throw err;
    }
  }
}

async function consumerConfig(jsm: JetStreamManager, spec: ConsumerSpec): Promise<ConsumerConfig | undefined> {
  try {
    return (await jsm.consumers.info(spec.stream, spec.name)).config;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
    throw err;
  }
}
