/**
 * Opening the bus's NATS connection and making sure its stream exists, with every failure
 * turned into a coded error that names the servers or the stream.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { natsError } from '../errors.ts';
import type { ResolvedNatsEventBusOptions } from '../options.ts';

/** `host:port` of each server, without credentials, for messages. */
export function describeServers(servers: readonly string[]): string {
  return servers
    .map((s) => {
      try {
        return new URL(s).host;
      } catch {
        return s;
      }
    })
    .join(', ');
}

/**
 * Connects once (no retry before the first connection, bounded by `connectTimeout`); after
 * that the client reconnects forever, and consumers resume on their own.
 */
export async function openConnection(options: ResolvedNatsEventBusOptions): Promise<NatsConnection> {
  const where = describeServers(options.servers);
  const attempt = connect({
    servers: [...options.servers],
    name: options.name,
    timeout: options.connectTimeoutMs,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectDelayMs,
    ...(options.user === undefined ? {} : { user: options.user, pass: options.pass ?? '' }),
    ...(options.token === undefined ? {} : { token: options.token }),
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    // The driver's own timeout covers the handshake; this one also covers a DNS lookup that hangs.
    timer = setTimeout(
      () => reject(new Error(`no answer within ${options.connectTimeoutMs}ms`)),
      options.connectTimeoutMs + 500,
    );
  });
  try {
    return await Promise.race([attempt, deadline]);
  } catch (err) {
    attempt.then((nc) => nc.close()).catch(() => {});
    const reason = (err as Error).message;
    throw natsError(
      'SY_NATS_CONNECT_FAILED',
      `NATS event bus: cannot connect to ${where} (${reason}); is nats-server running with JetStream (-js)?`,
      { cause: err, details: { servers: where } },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** The JetStream manager, or `SY_NATS_JETSTREAM_UNAVAILABLE` when the server has no JetStream. */
export async function openManager(nc: NatsConnection, options: ResolvedNatsEventBusOptions): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc, { timeout: options.requestTimeoutMs });
  } catch (err) {
    throw natsError(
      'SY_NATS_JETSTREAM_UNAVAILABLE',
      `NATS event bus: ${describeServers(options.servers)} has no JetStream for this account ` +
        `(${(err as Error).message}); start nats-server with -js`,
      { cause: err, details: { servers: describeServers(options.servers) } },
    );
  }
}

/**
 * Creates the stream capturing `<subjectPrefix>.>`, or updates an existing one to capture it
 * with this bus's limits. Limits retention: a message stays for `maxAge` whether or not it was
 * acknowledged, so dead letters and messages for groups not yet connected are kept.
 */
export async function ensureStream(jsm: JetStreamManager, options: ResolvedNatsEventBusOptions): Promise<void> {
  const subject = `${options.subjectPrefix}.>`;
  const wanted = {
    max_age: nanos(options.maxAgeMs),
    duplicate_window: nanos(options.duplicateWindowMs),
  };
  try {
    const existing = await findStream(jsm, options.stream);
    if (existing === undefined) {
      const config: Partial<StreamConfig> & { name: string } = {
        name: options.stream,
        subjects: [subject],
        retention: 'limits',
        storage: options.storage,
        discard: 'old',
        num_replicas: options.replicas,
        ...wanted,
      };
      await jsm.streams.add(config);
      return;
    }
    const subjects = existing.subjects ?? [];
    const same =
      subjects.includes(subject) &&
      existing.max_age === wanted.max_age &&
      existing.duplicate_window === wanted.duplicate_window;
    if (existing.storage !== options.storage) {
      throw new Error(`it exists with ${existing.storage} storage, the bus wants ${options.storage}`);
    }
    if (!same) {
      await jsm.streams.update(options.stream, {
        ...existing,
        subjects: subjects.includes(subject) ? subjects : [...subjects, subject],
        ...wanted,
      });
    }
  } catch (err) {
    if (!(err instanceof JetStreamApiError) && !(err instanceof Error && err.message.startsWith('it exists'))) {
      throw natsError(
        'SY_NATS_JETSTREAM_UNAVAILABLE',
        `NATS event bus: stream ${JSON.stringify(options.stream)}: JetStream did not answer (${(err as Error).message})`,
        { cause: err, details: { stream: options.stream } },
      );
    }
    throw natsError(
      'SY_NATS_STREAM_CONFLICT',
      `NATS event bus: cannot create or update stream ${JSON.stringify(options.stream)} to capture ` +
        `${JSON.stringify(subject)}: ${(err as Error).message}. Give the bus another stream or subjectPrefix.`,
      { cause: err, details: { stream: options.stream, subject } },
    );
  }
}

async function findStream(jsm: JetStreamManager, name: string): Promise<StreamConfig | undefined> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw err;
  }
}
