import { type Clock, type JsonValue, systemClock } from '@switchyard/core';
import type { BusGuarantees, BusMessage, EventBus, MessageHandler, PublishOptions, Subscription } from './bus.ts';
import { createBusMessage } from './bus-message.ts';
import { instrumentEventBus } from './bus-telemetry.ts';
import { deadLetterHeaders } from './dead-letter.ts';
import { sagaError } from './errors.ts';
import { type HandlerOutcome, runHandler } from './handler-run.ts';
import { type ResolvedSubscribeOptions, resolveSubscribeOptions } from './subscribe-options.ts';

/** Options of {@link createMemoryEventBus}. */
export interface MemoryEventBusOptions {
  /** Time source for `publishedAt`, backoffs and ack timeouts; a `ManualClock` in unit tests. @default systemClock */
  readonly clock?: Clock | undefined;
}

/** One message waiting in (or out for delivery from) a group's queue. */
interface Entry {
  readonly message: BusMessage;
  /** Publish order on the bus, so a queue stays in publish order when failures re-enter it. */
  readonly seq: number;
  deliveries: number;
  dueAt: number;
}

interface Member {
  readonly options: ResolvedSubscribeOptions;
  readonly handler: MessageHandler;
  readonly running: Set<Promise<void>>;
}

interface Group {
  readonly topic: string;
  readonly name: string;
  /** Waiting entries, sorted by `seq`. */
  readonly queue: Entry[];
  readonly members: Member[];
  /** Round-robin position among the members. */
  next: number;
  timer: { at: number; cancel: () => void } | undefined;
}

const guarantees: BusGuarantees = Object.freeze({ ordering: 'per-topic', durable: false });

/**
 * An {@link EventBus} in this process's memory, for tests and single-process services. Each
 * consumer group has its own queue per topic, so every group gets every message published
 * after it first subscribed (kept while no member is connected) and its members share them
 * round-robin. A failed message waits its backoff and comes back with the next attempt
 * number; after `maxDeliveries` it is published to the dead-letter topic. One member with
 * concurrency 1 sees a topic in publish order. Nothing survives the process
 * (`guarantees.durable` is false); a message published to a topic with no group is dropped.
 *
 * @example
 * ```ts
 * const bus = createMemoryEventBus();
 * await bus.subscribe('order.approved', async (message) => console.log(message.payload), { group: 'billing' });
 * await bus.publish('order.approved', { orderId: 'o-1' });
 * await bus.close();
 * ```
 */
export function createMemoryEventBus(options: MemoryEventBusOptions = {}): EventBus {
  const clock = options.clock ?? systemClock;
  /** topic -> group name -> group */
  const topics = new Map<string, Map<string, Group>>();
  const subscriptions = new Set<Subscription>();
  let seq = 0;
  let closed = false;

  function assertOpen(what: string): void {
    if (closed) throw sagaError('SY_BUS_CLOSED', `memory event bus: ${what} after close()`);
  }

  function enqueue(message: BusMessage): void {
    const order = seq++;
    for (const group of topics.get(message.topic)?.values() ?? []) {
      group.queue.push({ message, seq: order, deliveries: 0, dueAt: clock.now() });
      queueMicrotask(() => pump(group));
    }
  }

  /** Hands due entries, oldest first, to members with a free slot; then arms the timer for the next due entry. */
  function pump(group: Group): void {
    for (;;) {
      const now = clock.now();
      const index = group.queue.findIndex((e) => e.dueAt <= now);
      if (index < 0) break;
      const member = freeMember(group);
      if (!member) break;
      const [entry] = group.queue.splice(index, 1);
      if (entry) dispatch(group, member, entry);
    }
    armTimer(group);
  }

  function freeMember(group: Group): Member | undefined {
    const count = group.members.length;
    for (let i = 0; i < count; i++) {
      const member = group.members[(group.next + i) % count];
      if (member && member.running.size < member.options.concurrency) {
        group.next = (group.next + i + 1) % count;
        return member;
      }
    }
    return undefined;
  }

  function armTimer(group: Group): void {
    const now = clock.now();
    let at = Number.POSITIVE_INFINITY;
    for (const entry of group.queue) if (entry.dueAt > now) at = Math.min(at, entry.dueAt);
    if (group.timer && group.timer.at <= at) return;
    group.timer?.cancel();
    group.timer = undefined;
    if (at === Number.POSITIVE_INFINITY || closed) return;
    const cancel = clock.setTimeout(() => {
      group.timer = undefined;
      pump(group);
    }, at - now);
    group.timer = { at, cancel };
  }

  function dispatch(group: Group, member: Member, entry: Entry): void {
    entry.deliveries++;
    const delivery = Object.freeze({ ...entry.message, attempt: entry.deliveries, group: group.name });
    const run = runHandler(member.handler, delivery, { ackTimeoutMs: member.options.ackTimeoutMs, clock }).then(
      (outcome) => settle(group, member, entry, outcome),
    );
    member.running.add(run);
    void run.finally(() => {
      member.running.delete(run);
      pump(group);
    });
  }

  function settle(group: Group, member: Member, entry: Entry, outcome: HandlerOutcome): void {
    if (outcome.ok) return;
    const { options: resolved } = member;
    if (entry.deliveries >= resolved.maxDeliveries) {
      const { message } = entry;
      const headers = deadLetterHeaders({
        topic: message.topic,
        group: group.name,
        headers: message.headers,
        deliveries: entry.deliveries,
        error: outcome.error,
      });
      enqueue(Object.freeze({ ...message, topic: resolved.deadLetterTopic, headers, publishedAt: clock.now() }));
      return;
    }
    entry.dueAt = clock.now() + resolved.redeliveryDelay(entry.deliveries + 1);
    const at = group.queue.findIndex((e) => e.seq > entry.seq);
    group.queue.splice(at < 0 ? group.queue.length : at, 0, entry);
  }

  function groupFor(topic: string, name: string): Group {
    let groups = topics.get(topic);
    if (!groups) {
      groups = new Map();
      topics.set(topic, groups);
    }
    let group = groups.get(name);
    if (!group) {
      group = { topic, name, queue: [], members: [], next: 0, timer: undefined };
      groups.set(name, group);
    }
    return group;
  }

  function subscription(group: Group, member: Member): Subscription {
    let closing: Promise<void> | undefined;
    const sub: Subscription = {
      topic: group.topic,
      group: group.name,
      close() {
        closing ??= (async () => {
          const at = group.members.indexOf(member);
          if (at >= 0) group.members.splice(at, 1);
          // Handlers that fail while we wait put their message back for the other members.
          while (member.running.size > 0) await Promise.all([...member.running]);
          subscriptions.delete(sub);
        })();
        return closing;
      },
      [Symbol.asyncDispose]: () => sub.close(),
    };
    return sub;
  }

  let closing: Promise<void> | undefined;
  const bus: EventBus = {
    guarantees,
    async publish<T extends JsonValue>(topic: string, payload: T, publishOptions?: PublishOptions): Promise<string> {
      assertOpen(`publish to ${JSON.stringify(topic)}`);
      const message = createBusMessage(topic, payload, publishOptions, clock.now());
      enqueue(message);
      return message.id;
    },
    async subscribe<T extends JsonValue>(
      topic: string,
      handler: MessageHandler<T>,
      subscribeOptions: Parameters<EventBus['subscribe']>[2],
    ) {
      assertOpen(`subscribe to ${JSON.stringify(topic)}`);
      const resolved = resolveSubscribeOptions(topic, subscribeOptions);
      const group = groupFor(topic, resolved.group);
      const member: Member = { options: resolved, handler: handler as MessageHandler, running: new Set() };
      group.members.push(member);
      const sub = subscription(group, member);
      subscriptions.add(sub);
      queueMicrotask(() => pump(group));
      return sub;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        await Promise.all([...subscriptions].map((s) => s.close()));
        for (const groups of topics.values()) {
          for (const group of groups.values()) {
            group.timer?.cancel();
            group.timer = undefined;
          }
        }
      })();
      return closing;
    },
    [Symbol.asyncDispose]: () => bus.close(),
  };
  return instrumentEventBus(bus, { system: 'switchyard', name: 'memory' });
}
