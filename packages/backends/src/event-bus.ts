/**
 * Opens the event bus a URL names: `sqlite:<file>` (the durable log shared by local processes),
 * `nats://host:port[?stream=S&subjectPrefix=p]` (JetStream, `@switchyard/adapter-nats`) or
 * `amqp://user:pass@host:port[?exchange=x]` (`@switchyard/adapter-rabbitmq`). Adapters are
 * loaded only when named.
 */
import { createSqliteEventBus, type EventBus } from '@switchyard/saga';
import { checkAdapterOptions, parseBackendUrl, takeUrlParams } from './backend-url.ts';

/** Options of {@link openEventBus}. */
export interface OpenEventBusOptions {
  /** What a relative `sqlite:` path is relative to (usually the data directory). @default process.cwd() */
  readonly baseDir?: string;
  /** The config path named in errors. @default "events.bus" */
  readonly field?: string;
}

/**
 * Connects to the event bus `url` names. The caller closes it.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming `field` for an unknown scheme or bad URL;
 *   the adapter's connection error when the server cannot be reached
 * @example
 * ```ts
 * const bus = await openEventBus(process.env.SWITCHYARD_EVENT_BUS ?? 'sqlite:bus.sqlite', { baseDir: dataDir });
 * await bus.publish('order.approved', { orderId: 'o-1' });
 * // or: await openEventBus('nats://127.0.0.1:4222?stream=SHOP&subjectPrefix=shop');
 * ```
 */
export async function openEventBus(url: string, options: OpenEventBusOptions = {}): Promise<EventBus> {
  const field = options.field ?? 'events.bus';
  const { scheme, target } = parseBackendUrl(
    url,
    ['sqlite', 'nats', 'amqp', 'amqps'],
    field,
    options.baseDir ?? process.cwd(),
  );
  if (scheme === 'sqlite') return createSqliteEventBus({ path: target });
  if (scheme === 'nats') {
    const { url: servers, params } = takeUrlParams(target, ['stream', 'subjectPrefix'], field);
    const { createNatsEventBus, resolveNatsEventBusOptions } = await import('@switchyard/adapter-nats');
    const busOptions = { servers, ...params };
    // Validated here so a bad URL or ?stream= names the config field, not the adapter's option.
    checkAdapterOptions(() => resolveNatsEventBusOptions(busOptions, field), field, 'servers');
    return createNatsEventBus(busOptions);
  }
  const { url: amqpUrl, params } = takeUrlParams(target, ['exchange'], field);
  const { createRabbitMqEventBus, resolveRabbitMqEventBusOptions } = await import('@switchyard/adapter-rabbitmq');
  const busOptions = { url: amqpUrl, ...params };
  checkAdapterOptions(() => resolveRabbitMqEventBusOptions(busOptions, field), field, 'url');
  return createRabbitMqEventBus(busOptions);
}
