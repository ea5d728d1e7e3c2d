/**
 * The bus's AMQP connection, kept open: one connection with a confirm channel for publishing,
 * reopened with capped exponential backoff whenever it is lost. Subscriptions wait for it and
 * open their own channels on it.
 */
import { exponentialBackoff } from '@switchyard/core';
import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { rabbitMqError } from '../errors.ts';
import type { ResolvedRabbitMqEventBusOptions } from '../options.ts';

/** An open connection and its publishing channel. */
export interface Connected {
  readonly model: ChannelModel;
  readonly confirm: ConfirmChannel;
}

const noop = (): void => {};

/** `host:port` of `url`, without credentials, for messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'amqps:' ? '5671' : '5672')}`;
  } catch {
    return '(unparsable url)';
  }
}

/** True for an AMQP channel or connection error with this reply code (406 PRECONDITION_FAILED...). */
export function hasReplyCode(err: unknown, code: number): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** Keeps one connection to RabbitMQ open until {@link AmqpLink.close}. */
export class AmqpLink {
  readonly options: ResolvedRabbitMqEventBusOptions;
  readonly where: string;
  #current: Connected | undefined;
  #closed = false;
  #waiters = new Set<(c: Connected | undefined) => void>();
  #timer: NodeJS.Timeout | undefined;
  readonly #delay: (attempt: number) => number;

  private constructor(options: ResolvedRabbitMqEventBusOptions, first: Connected) {
    this.options = options;
    this.where = describeUrl(options.url);
    this.#delay = exponentialBackoff({
      initialMs: options.reconnectDelayMs,
      maxMs: options.maxReconnectDelayMs,
      factor: 2,
      jitter: 'none',
    });
    this.#adopt(first);
  }

  /**
   * Connects once; rejects with `SY_RABBITMQ_CONNECT_FAILED` (naming host:port) when RabbitMQ
   * does not accept the connection within `connectTimeout`.
   */
  static async open(options: ResolvedRabbitMqEventBusOptions): Promise<AmqpLink> {
    return new AmqpLink(options, await connectOnce(options));
  }

  /** The open connection, or `undefined` while reconnecting (or after close). */
  get current(): Connected | undefined {
    return this.#current;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The open connection as soon as there is one; `undefined` once the link is closed. */
  whenConnected(): Promise<Connected | undefined> {
    if (this.#current !== undefined || this.#closed) return Promise.resolve(this.#current);
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  /** Closes the connection and stops reconnecting. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const current = this.#current;
    this.#current = undefined;
    this.#notify();
    if (current !== undefined) {
      await current.confirm.waitForConfirms().catch(noop);
      await current.model.close().catch(noop);
    }
  }

  #adopt(connected: Connected): void {
    const { model, confirm } = connected;
    model.on('close', () => {
      if (this.#current?.model !== model) return;
      this.#current = undefined;
      this.#reconnect(1);
    });
    // A publishing channel closed by the broker (it never should) is replaced with the connection.
    confirm.on('close', () => {
      if (this.#current?.model === model) model.close().catch(noop);
    });
    this.#current = connected;
    this.#notify();
  }

  #reconnect(attempt: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(async () => {
      try {
        const connected = await connectOnce(this.options);
        if (this.#closed) {
          await connected.model.close().catch(noop);
          return;
        }
        this.#adopt(connected);
      } catch {
        this.#reconnect(attempt + 1);
      }
    }, this.#delay(attempt));
  }

  #notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const resolve of waiters) resolve(this.#current);
  }
}

async function connectOnce(options: ResolvedRabbitMqEventBusOptions): Promise<Connected> {
  const where = describeUrl(options.url);
  const url = new URL(options.url);
  if (!url.searchParams.has('heartbeat'))
    url.searchParams.set('heartbeat', String(Math.ceil(options.heartbeatMs / 1000)));
  let timer: NodeJS.Timeout | undefined;
  const attempt = connect(url.toString(), { timeout: options.connectTimeoutMs });
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${options.connectTimeoutMs}ms`)),
      options.connectTimeoutMs,
    );
  });
  let model: ChannelModel;
  try {
    model = await Promise.race([attempt, deadline]);
  } catch (err) {
    attempt.then((m) => m.close()).catch(noop);
    throw rabbitMqError(
      'SY_RABBITMQ_CONNECT_FAILED',
      `RabbitMQ event bus: cannot connect to ${where} (${(err as Error).message}); is rabbitmq-server running there, ` +
        'and are the user, password and virtual host in the url right?',
      { cause: err, details: { where } },
    );
  } finally {
    clearTimeout(timer);
  }
  // Without listeners an 'error' event would crash the process; the 'close' that follows is handled.
  model.on('error', noop);
  try {
    const confirm = await model.createConfirmChannel();
    confirm.on('error', noop);
    await confirm.assertExchange(options.exchange, 'topic', { durable: true, autoDelete: false });
    return { model, confirm };
  } catch (err) {
    await model.close().catch(noop);
    if (hasReplyCode(err, 406)) {
      throw rabbitMqError(
        'SY_RABBITMQ_TOPOLOGY_CONFLICT',
        `RabbitMQ event bus: exchange ${JSON.stringify(options.exchange)} exists on ${where} but is not a durable ` +
          `topic exchange (${(err as Error).message}); give the bus another exchange name`,
        { cause: err, details: { exchange: options.exchange } },
      );
    }
    throw rabbitMqError('SY_RABBITMQ_CONNECT_FAILED', `RabbitMQ event bus: ${where}: ${(err as Error).message}`, {
      cause: err,
      details: { where },
    });
  }
}
