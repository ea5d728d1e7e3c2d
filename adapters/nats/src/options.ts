import { resolveOptions, zDuration } from '@switchyard/core';
import * as z from 'zod';

/** The default NATS address. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

const serverSchema = z.string().refine((v) => /^(nats|tls):\/\/./.test(v) && URL.canParse(v), {
  message: 'expected a nats:// or tls:// URL, such as "nats://127.0.0.1:4222"',
});

const positiveDuration = zDuration().refine((ms) => ms > 0, { message: 'expected a duration > 0, such as "5s"' });

/**
 * The options of `createNatsEventBus`, as a strict zod schema (also used for `switchyard.yaml`).
 * An unknown field is an error naming the closest known one.
 */
export const natsEventBusOptionsSchema = z.strictObject({
  /** The NATS server(s) to connect to. @default 'nats://127.0.0.1:4222' */
  servers: z.union([serverSchema, z.array(serverSchema).min(1)]).default(DEFAULT_NATS_URL),
  /** User name, when the server wants one (with `pass`). */
  user: z.string().min(1).optional(),
  /** Password for `user`. */
  pass: z.string().optional(),
  /** Authentication token, when the server wants one. */
  token: z.string().min(1).optional(),
  /** The JetStream stream holding every topic of this bus; created or updated at connect. @default 'SWITCHYARD' */
  stream: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'expected 1 to 64 letters, digits, "_" or "-", such as "SWITCHYARD"' })
    .default('SWITCHYARD'),
  /** Topic `order.approved` is stored on subject `<subjectPrefix>.order.approved`. @default 'sy' */
  subjectPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, {
      message: 'expected dot-separated words of letters, digits, "_" and "-", such as "sy"',
    })
    .max(100)
    .default('sy'),
  /** The connection name the server shows in monitoring. @default 'switchyard-bus' */
  name: z.string().min(1).default('switchyard-bus'),
  /** How long `createNatsEventBus` tries to connect before failing. @default '5s' */
  connectTimeout: positiveDuration.default(5000),
  /** How long the client waits between reconnection attempts after losing its server. @default '1s' */
  reconnectDelay: positiveDuration.default(1000),
  /** How long a publish waits for the stream's acknowledgement, and other JetStream calls for their answer. @default '5s' */
  requestTimeout: positiveDuration.default(5000),
  /** How long the stream keeps a message (acknowledged or not); `0` keeps messages until limits are hit. @default '7d' */
  maxAge: zDuration().default(7 * 24 * 3_600_000),
  /** Publishes with the same message id within this window are stored once. @default '2m' */
  duplicateWindow: positiveDuration.default(120_000),
  /** Where the stream keeps messages. @default 'file' */
  storage: z.enum(['file', 'memory']).default('file'),
  /** Copies of the stream in a NATS cluster (1 to 5). @default 1 */
  replicas: z.number().int().min(1).max(5).default(1),
});

/** What `createNatsEventBus` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type NatsEventBusOptions = z.input<typeof natsEventBusOptionsSchema>;

/** {@link NatsEventBusOptions} with every default applied, durations in milliseconds. */
export interface ResolvedNatsEventBusOptions {
  readonly servers: readonly string[];
  readonly user: string | undefined;
  readonly pass: string | undefined;
  readonly token: string | undefined;
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly name: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly reconnectDelayMs: number;
  readonly maxAgeMs: number;
  readonly duplicateWindowMs: number;
  readonly storage: 'file' | 'memory';
  readonly replicas: number;
}

/**
 * Validates and completes the bus options.
 *
 * @param root - path prefix in error messages @default 'nats'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`nats.servers: ...`)
 * @example
 * ```ts
 * resolveNatsEventBusOptions({ stream: 'ORDERS', maxAge: '24h' }).maxAgeMs; // 86400000
 * ```
 */
export function resolveNatsEventBusOptions(
  input: NatsEventBusOptions = {},
  root = 'nats',
): ResolvedNatsEventBusOptions {
  const v = resolveOptions(natsEventBusOptionsSchema, input, root);
  return Object.freeze({
    servers: Object.freeze(typeof v.servers === 'string' ? [v.servers] : [...v.servers]),
    user: v.user,
    pass: v.pass,
    token: v.token,
    stream: v.stream,
    subjectPrefix: v.subjectPrefix,
    name: v.name,
    connectTimeoutMs: v.connectTimeout,
    requestTimeoutMs: v.requestTimeout,
    reconnectDelayMs: v.reconnectDelay,
    maxAgeMs: v.maxAge,
    duplicateWindowMs: v.duplicateWindow,
    storage: v.storage,
    replicas: v.replicas,
  });
}
