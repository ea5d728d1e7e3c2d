import { resolveOptions, zDuration } from '@switchyard/core';
import * as z from 'zod';

/** The default RabbitMQ address. */
export const DEFAULT_RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

const positiveDuration = zDuration().refine((ms) => ms > 0, { message: 'expected a duration > 0, such as "5s"' });

/**
 * The options of `createRabbitMqEventBus`, as a strict zod schema (also used for
 * `switchyard.yaml`). An unknown field is an error naming the closest known one.
 */
export const rabbitMqEventBusOptionsSchema = z.strictObject({
  /** `amqp://user:password@host:port/vhost`, or `amqps://` for TLS. @default 'amqp://guest:guest@127.0.0.1:5672' */
  url: z
    .string()
    .refine((v) => /^amqps?:\/\/./.test(v) && URL.canParse(v), {
      message: 'expected an amqp:// or amqps:// URL, such as "amqp://guest:guest@127.0.0.1:5672"',
    })
    .default(DEFAULT_RABBITMQ_URL),
  /** The durable topic exchange every topic is published to; its name also prefixes the bus's queues. @default 'switchyard' */
  exchange: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, {
      message: 'expected 1 to 100 letters, digits, "_", "." or "-", such as "switchyard"',
    })
    .default('switchyard'),
  /** `quorum` (replicated, counts redeliveries) or `classic` queues for consumer groups. @default 'quorum' */
  queueType: z.enum(['quorum', 'classic']).default('quorum'),
  /** How long `createRabbitMqEventBus` (and each reconnection attempt) may take to connect. @default '5s' */
  connectTimeout: positiveDuration.default(5000),
  /** How long a publish waits for the broker's confirm before failing with `SY_BUS_UNAVAILABLE`. @default '5s' */
  publishTimeout: positiveDuration.default(5000),
  /** AMQP heartbeat: a dead connection is noticed after about twice this. @default '10s' */
  heartbeat: zDuration().default(10_000),
  /** The first delay before reconnecting after the connection is lost; doubles up to `maxReconnectDelay`. @default '100ms' */
  reconnectDelay: positiveDuration.default(100),
  /** The longest delay between reconnection attempts. @default '5s' */
  maxReconnectDelay: positiveDuration.default(5000),
});

/** What `createRabbitMqEventBus` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type RabbitMqEventBusOptions = z.input<typeof rabbitMqEventBusOptionsSchema>;

/** {@link RabbitMqEventBusOptions} with every default applied, durations in milliseconds. */
export interface ResolvedRabbitMqEventBusOptions {
  readonly url: string;
  readonly exchange: string;
  readonly queueType: 'quorum' | 'classic';
  readonly connectTimeoutMs: number;
  readonly publishTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly reconnectDelayMs: number;
  readonly maxReconnectDelayMs: number;
}

/**
 * Validates and completes the bus options.
 *
 * @param root - path prefix in error messages @default 'rabbitmq'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`rabbitmq.url: ...`)
 * @example
 * ```ts
 * resolveRabbitMqEventBusOptions({ exchange: 'shop', publishTimeout: '2s' }).publishTimeoutMs; // 2000
 * ```
 */
export function resolveRabbitMqEventBusOptions(
  input: RabbitMqEventBusOptions = {},
  root = 'rabbitmq',
): ResolvedRabbitMqEventBusOptions {
  const v = resolveOptions(rabbitMqEventBusOptionsSchema, input, root);
  return Object.freeze({
    url: v.url,
    exchange: v.exchange,
    queueType: v.queueType,
    connectTimeoutMs: v.connectTimeout,
    publishTimeoutMs: v.publishTimeout,
    heartbeatMs: v.heartbeat,
    reconnectDelayMs: v.reconnectDelay,
    maxReconnectDelayMs: Math.max(v.maxReconnectDelay, v.reconnectDelay),
  });
}
