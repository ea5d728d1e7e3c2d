import type { SwitchyardError } from '@switchyard/core';
import { sagaError } from '@switchyard/saga';
import type { Options } from 'amqplib';
import { rabbitMqError } from '../errors.ts';
import type { AmqpLink } from './link.ts';

/**
 * Publishes on the link's confirm channel and resolves on the broker's confirm (the message is
 * then on disk in every queue it was routed to, for durable queues). Rejects at once with
 * `SY_BUS_UNAVAILABLE` while the link is reconnecting, and after `publishTimeout` without a
 * confirm; with `SY_RABBITMQ_PUBLISH_REJECTED` on a negative confirm.
 */
export function publishConfirmed(
  link: AmqpLink,
  exchange: string,
  routingKey: string,
  body: Buffer,
  properties: Options.Publish,
  what: string,
): Promise<void> {
  const connected = link.current;
  if (connected === undefined) {
    return Promise.reject(unavailable(link, what, 'not connected (reconnecting)'));
  }
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(unavailable(link, what, `no confirm within ${link.options.publishTimeoutMs}ms`)),
      link.options.publishTimeoutMs,
    );
    const done = (err: unknown) => {
      clearTimeout(timer);
      if (err === null || err === undefined) return resolve();
      if (err instanceof Error && /nack/i.test(err.message)) {
        return reject(
          rabbitMqError('SY_RABBITMQ_PUBLISH_REJECTED', `RabbitMQ event bus: ${what}: the broker rejected it`, {
            cause: err,
            details: { exchange, routingKey },
          }),
        );
      }
      reject(unavailable(link, what, err instanceof Error ? err.message : String(err), err));
    };
    try {
      connected.confirm.publish(exchange, routingKey, body, properties, (err) => done(err));
    } catch (err) {
      done(err ?? new Error('publish failed'));
    }
  });
}

/** `SY_BUS_UNAVAILABLE` naming where the broker is. */
export function unavailable(link: AmqpLink, what: string, reason: string, cause?: unknown): SwitchyardError {
  return sagaError(
    'SY_BUS_UNAVAILABLE',
    `RabbitMQ event bus: ${what}: ${link.where}: ${reason}; nothing was confirmed`,
    {
      cause,
      details: { where: link.where },
    },
  );
}
