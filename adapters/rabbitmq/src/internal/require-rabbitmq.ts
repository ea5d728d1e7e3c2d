/**
 * Test support for the integration tests (not exported by the package): reaching the real
 * RabbitMQ, and removing the exchange and queues a test created.
 */
import { connect } from 'amqplib';
import { DEFAULT_RABBITMQ_URL } from '../options.ts';

/** How to start the RabbitMQ the integration tests need. */
export const START_RABBITMQ = 'rabbitmq-server -detached';

/**
 * Resolves when RabbitMQ accepts a connection at `url`; otherwise rejects with a message
 * saying how to start it. The integration tests call it first and fail (they never skip).
 */
export async function requireRabbitMq(url: string = DEFAULT_RABBITMQ_URL): Promise<void> {
  try {
    const model = await connect(url, { timeout: 3000 });
    await model.close();
  } catch (err) {
    throw new Error(
      `RabbitMQ is not reachable at ${url} (${(err as Error).message}). The RabbitMQ integration tests need ` +
        `a real broker and do not skip; start one with: ${START_RABBITMQ}`,
    );
  }
}

/** An exchange name no other test run uses. */
export function randomExchange(label: string): string {
  return `sytest.${label}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Deletes `exchange` and the queues the bus declared for it. Queue names are passed in, as
 * AMQP cannot list queues (the management API may not be enabled).
 */
export async function deleteTopology(
  exchange: string,
  queues: readonly string[],
  url = DEFAULT_RABBITMQ_URL,
): Promise<void> {
  const model = await connect(url, { timeout: 3000 });
  try {
    for (const name of queues) {
      const channel = await model.createChannel();
      channel.on('error', () => {});
      await channel.deleteQueue(name).catch(() => {});
      await channel.close().catch(() => {});
    }
    const channel = await model.createChannel();
    channel.on('error', () => {});
    await channel.deleteExchange(exchange).catch(() => {});
    await channel.close().catch(() => {});
  } finally {
    await model.close();
  }
}
