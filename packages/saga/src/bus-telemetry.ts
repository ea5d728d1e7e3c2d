import type { JsonValue } from '@switchyard/core';
import {
  activeSpan,
  BusConsumeOutcome,
  type Context,
  extractContext,
  getTracer,
  globalMetrics,
  injectContext,
  MessagingAttributes,
  MessagingOperationType,
  recordError,
  type Span,
  type SpanContext,
  SpanKind,
  SwitchyardAttributes,
  withContext,
  withSpan,
} from '@switchyard/telemetry';
import type { Delivery, EventBus, MessageHandler, PublishOptions, SubscribeOptions } from './bus.ts';
import { isNoopSpan } from './internal/noop-span.ts';
import { SAGA_ID_HEADER } from './saga-headers.ts';
import { DEFAULT_MAX_DELIVERIES } from './subscribe-options.ts';

/** Options of {@link instrumentEventBus}. */
export interface InstrumentEventBusOptions {
  /**
   * `messaging.system` of the spans: `nats`, `rabbitmq`, or `switchyard` for the buses of this
   * package (memory, SQLite).
   */
  readonly system: string;
  /** The `bus` label of `switchyard_bus_published_total`. @default the `system` */
  readonly name?: string | undefined;
}

/** The attribute naming the dead-letter topic on a `message.dead_lettered` event. */
export const DEAD_LETTER_TOPIC_ATTRIBUTE = 'switchyard.dead_letter.topic';

const tracer = getTracer('@switchyard/saga');
const instrumented = Symbol.for('switchyard.saga.instrumentedBus');

/**
 * Instruments an {@link EventBus} in place and returns it: every bus of this package and of the
 * NATS and RabbitMQ adapters calls it at the end of its factory, so users get it without code.
 *
 * - `publish`: a PRODUCER span `send <topic>` (OpenTelemetry messaging conventions: operation,
 *   then destination), child of the active context; its context is written into the message's
 *   headers (`traceparent`, `tracestate`, `baggage`, replacing ones the caller passed).
 *   Counted in `switchyard_bus_published_total{bus,topic}`.
 * - each delivery: a CONSUMER span `process <topic>` whose parent is the context in the
 *   message's headers (the producer span), with a link to it as well, as the conventions
 *   recommend for the creation context; the handler runs with it active. Attributes:
 *   `messaging.*`, `switchyard.attempt` (1 = first delivery), `switchyard.saga.id` when the
 *   message carries `sy-saga-id`. A failure is recorded on the span; the one that sends the
 *   message to the dead-letter topic adds a `message.dead_lettered` event. Counted in
 *   `switchyard_bus_consumed_total{topic,group,outcome}` and
 *   `switchyard_bus_redelivered_total{topic,group}`.
 *
 * The metrics are `globalMetrics()` as they are when the bus is instrumented (set the process's
 * metrics before building the bus); handles are resolved once per topic. Span attributes are set
 * right after the span starts, when it records, so a sampler does not see them. Without `setupTelemetry()` the spans are the
 * OpenTelemetry API's no-ops. Instrumenting a bus twice changes nothing.
 *
 * @example
 * ```ts
 * export async function createMyEventBus(options: MyOptions): Promise<EventBus> {
 *   const bus = new MyBus(await connect(options));
 *   return instrumentEventBus(bus, { system: 'kafka' });
 * }
 * ```
 */
export function instrumentEventBus<B extends EventBus>(bus: B, options: InstrumentEventBusOptions): B {
  const marked = bus as B & { [instrumented]?: true };
  if (marked[instrumented]) return bus;
  const { system } = options;
  const busName = options.name ?? system;
  const metrics = globalMetrics();
  const publishers = new Map<string, TopicPublisher>();
  const publish = bus.publish.bind(bus);
  const subscribe = bus.subscribe.bind(bus);

  const publisher = (topic: string): TopicPublisher => {
    let entry = publishers.get(topic);
    if (entry === undefined) {
      const handle = metrics.bus.publisher(busName, topic);
      entry = {
        spanName: `send ${topic}`,
        published: (id: string) => {
          handle.published();
          return id;
        },
      };
      publishers.set(topic, entry);
    }
    return entry;
  };

  const tracedPublish = <T extends JsonValue>(
    topic: string,
    payload: T,
    publishOptions?: PublishOptions,
  ): Promise<string> => {
    const entry = publisher(topic);
    const span = tracer.startSpan(entry.spanName, producerOptions);
    // Telemetry not set up: no span to end, no context to carry.
    if (isNoopSpan(span)) return publish(topic, payload, publishOptions).then(entry.published);
    return publishInSpan(span, system, topic, () =>
      publish(topic, payload, withProducerContext(span, publishOptions)),
    ).then(entry.published);
  };

  const tracedSubscribe = <T extends JsonValue>(
    topic: string,
    handler: MessageHandler<T>,
    subscribeOptions: SubscribeOptions,
  ) => {
    const consumer = metrics.bus.consumer(topic, subscribeOptions?.group ?? '');
    const maxDeliveries = subscribeOptions?.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
    const deadLetterTopic = subscribeOptions?.deadLetterTopic ?? `dead-letter.${topic}`;
    const spanName = `process ${topic}`;
    const failureOutcome = (delivery: Delivery<T>): BusConsumeOutcome =>
      delivery.attempt >= maxDeliveries ? BusConsumeOutcome.DeadLetter : BusConsumeOutcome.Retry;

    /** Counts the outcome; on a traced delivery also records the failure (and the dead letter). */
    const settle = (span: Span | undefined, delivery: Delivery<T>, failed: boolean, error: unknown): void => {
      if (!failed) {
        consumer.consumed(BusConsumeOutcome.Ack);
        return;
      }
      const outcome = failureOutcome(delivery);
      consumer.consumed(outcome);
      if (span === undefined) return;
      recordError(span, error);
      if (outcome === BusConsumeOutcome.DeadLetter && span.isRecording()) {
        span.addEvent('message.dead_lettered', { [DEAD_LETTER_TOPIC_ATTRIBUTE]: deadLetterTopic });
      }
    };

    const run = async (span: Span | undefined, delivery: Delivery<T>, signal: AbortSignal): Promise<void> => {
      let failed = false;
      let failure: unknown;
      try {
        await (span === undefined ? handler(delivery, signal) : withSpan(span, () => handler(delivery, signal)));
        // A handler that outlived its ack timeout resolves late: the bus counts it failed.
        if (signal.aborted) {
          failed = true;
          failure = signal.reason;
        }
      } catch (error) {
        failed = true;
        failure = error;
        throw error;
      } finally {
        settle(span, delivery, failed, failure);
        span?.end();
      }
    };

    const traced: MessageHandler<T> = (delivery, signal) => {
      if (delivery.attempt > 1) consumer.redelivered();
      const parent = extractContext(delivery.headers);
      const span = tracer.startSpan(spanName, consumerOptions, parent);
      if (isNoopSpan(span)) return run(undefined, delivery, signal);
      if (span.isRecording()) describeDelivery(span, system, delivery, parent);
      return run(span, delivery, signal);
    };
    return subscribe(topic, traced, subscribeOptions);
  };

  Object.defineProperty(bus, instrumented, { value: true });
  Object.defineProperty(bus, 'publish', { value: tracedPublish, writable: true, configurable: true });
  Object.defineProperty(bus, 'subscribe', { value: tracedSubscribe, writable: true, configurable: true });
  return bus;
}

/** What a bus keeps per topic it publishes to: the span name and the counting callback. */
interface TopicPublisher {
  readonly spanName: string;
  readonly published: (id: string) => string;
}

const producerOptions = Object.freeze({ kind: SpanKind.PRODUCER });
const consumerOptions = Object.freeze({ kind: SpanKind.CONSUMER });

/** Runs the publish with the producer span's attributes, records a failure, ends the span. */
async function publishInSpan(span: Span, system: string, topic: string, send: () => Promise<string>): Promise<string> {
  if (span.isRecording()) {
    span.setAttributes({
      [MessagingAttributes.SYSTEM]: system,
      [MessagingAttributes.DESTINATION_NAME]: topic,
      [MessagingAttributes.OPERATION_NAME]: MessagingOperationType.Send,
      [MessagingAttributes.OPERATION_TYPE]: MessagingOperationType.Send,
    });
  }
  try {
    const id = await send();
    if (span.isRecording()) span.setAttribute(MessagingAttributes.MESSAGE_ID, id);
    return id;
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** The publish options with the producer span's context in the headers (unchanged when it has none). */
function withProducerContext(span: Span, options: PublishOptions | undefined): PublishOptions | undefined {
  const carrier: Record<string, string> = {};
  withSpan(span, () => injectContext(carrier));
  // No propagator (telemetry not set up): nothing to add, no copy.
  if (carrier.traceparent === undefined) return options;
  const headers: Record<string, string> = { ...options?.headers };
  // A tracestate belongs to the traceparent it came with: the caller's one would be stale.
  delete headers.tracestate;
  return { ...options, headers: Object.assign(headers, carrier) };
}

/** The consumer span's attributes, and its link to the producer (the message's creation context). */
function describeDelivery(span: Span, system: string, delivery: Delivery, parent: Context): void {
  span.setAttributes({
    [MessagingAttributes.SYSTEM]: system,
    [MessagingAttributes.DESTINATION_NAME]: delivery.topic,
    [MessagingAttributes.OPERATION_NAME]: MessagingOperationType.Process,
    [MessagingAttributes.OPERATION_TYPE]: MessagingOperationType.Process,
    [MessagingAttributes.MESSAGE_ID]: delivery.id,
    [MessagingAttributes.CONSUMER_GROUP_NAME]: delivery.group,
    [SwitchyardAttributes.ATTEMPT]: delivery.attempt,
  });
  const sagaId = delivery.headers[SAGA_ID_HEADER];
  if (sagaId !== undefined) span.setAttribute(SwitchyardAttributes.SAGA_ID, sagaId);
  const producer = spanContextOf(parent);
  if (producer !== undefined) span.addLink({ context: producer });
}

/** The producer's span context carried by `ctx`, if any (to link the consumer span to it). */
function spanContextOf(ctx: Context): SpanContext | undefined {
  return withContext(ctx, activeSpan)?.spanContext();
}
