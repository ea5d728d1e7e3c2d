import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, type JsonValue } from '@switchyard/core';
import type { Delivery, EventBus, MessageHandler, SubscribeOptions, Subscription } from '../bus.ts';

/** What a bus offers beyond the port's minimum, declared when registering the contract. */
export interface EventBusFeatures {
  /** The fixture gives `second`, another connection to the same broker or log. @default true */
  readonly secondConnection?: boolean;
  /** The ordering the bus guarantees (its `guarantees.ordering` must say the same). @default 'per-topic' */
  readonly ordering?: 'per-topic' | 'none';
}

/** What the factory given to {@link eventBusContract} returns for each test. */
export interface EventBusFixture {
  /** An open bus. The suite closes it in some tests; `cleanup` must tolerate that. */
  readonly bus: EventBus;
  /**
   * A random prefix for this fixture: every topic and group the suite uses starts with
   * `${topicPrefix}.` (default dead-letter topics with `dead-letter.${topicPrefix}.`), so tests
   * on a shared broker or log never meet. Must itself be a valid topic name (letters, digits,
   * `_`, `-`, dots).
   */
  readonly topicPrefix: string;
  /** Closes what the fixture opened (the buses, connections) and deletes what it created. */
  cleanup(): Promise<void>;
  /**
   * Opens another bus on the same broker or log (another connection, as another process
   * would): group and durability tests then use it as a second member. The suite closes the
   * buses it opens this way.
   */
  readonly second?: (() => Promise<EventBus>) | undefined;
  /**
   * Multiplies every deadline and quiet period of the suite (not the backoffs and ack timeouts
   * it configures), for slow brokers. @default 1
   */
  readonly timeScale?: number | undefined;
}

/** Base deadline for a delivery to arrive, before `timeScale`. */
const DEADLINE_MS = 5_000;
/** How long the suite watches for a delivery that must not come, before `timeScale`. */
const QUIET_MS = 150;
/** Redelivery backoff the suite configures: fixed, no jitter, so its lower bound is exact. */
const BACKOFF_MS = 40;
/** Lets the bus's timers fire a little early (millisecond clocks round). */
const TIMER_SLACK_MS = 3;
const fixedBackoff = { initial: BACKOFF_MS, max: BACKOFF_MS, factor: 1, jitter: 'none' } as const;

function timeout(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolver, to hold a handler until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * The behaviour every {@link EventBus} must show, as a `node:test` suite: publish and the
 * delivery's fields, consumer groups (each group gets every message, members of one group
 * share them), the group keeping messages published while no member is connected,
 * redelivery with backoff and attempt numbers, dead-lettering with its headers, ack timeouts,
 * ordering where `guarantees.ordering` is `per-topic`, concurrency limits, closing
 * subscriptions and the bus, and the errors for bad names, options and payloads.
 *
 * `@switchyard/saga` runs it against the memory and SQLite buses, `@switchyard/adapter-nats`
 * and `@switchyard/adapter-rabbitmq` against real brokers; a new bus should too. Each test
 * calls `factory` for a fresh fixture and `cleanup` afterwards. Backoffs and ack timeouts are
 * tens of milliseconds, so a bus passes the suite in seconds; every wait has a deadline.
 *
 * @param name - shown in the suite's title, e.g. `memory` or `nats`
 * @param features - what the bus offers beyond the port's minimum; the tests of a feature it
 *   lacks are not registered (rather than skipped)
 * @example
 * ```ts
 * import { createMemoryEventBus } from '@switchyard/saga';
 * import { eventBusContract } from '@switchyard/saga/testing';
 *
 * eventBusContract('memory', async () => {
 *   const bus = createMemoryEventBus();
 *   return { bus, topicPrefix: `t${Math.random().toString(36).slice(2, 8)}`, cleanup: () => bus.close() };
 * });
 * ```
 */
export function eventBusContract(
  name: string,
  factory: () => Promise<EventBusFixture>,
  features: EventBusFeatures = {},
): void {
  const secondConnection = features.secondConnection ?? true;
  const ordering = features.ordering ?? 'per-topic';
  let seq = 0;

  /** Runs `body` with a fresh fixture and a context that closes what the test opened. */
  async function withBus(body: (context: Context) => Promise<void>): Promise<void> {
    const fixture = await factory();
    const context = new Context(fixture, ++seq);
    try {
      await body(context);
    } finally {
      await context.close();
    }
  }

  describe(`EventBus contract: ${name}`, () => {
    it('publish returns the given id, or a new one, and the delivery carries every field', async () => {
      await withBus(async (c) => {
        const topic = c.name('fields');
        const group = c.name('g');
        const got = c.collector();
        await c.subscribe(topic, got.handler, { group });
        const before = Date.now();
        const given = await c.bus.publish(
          topic,
          { order: 'o-1', lines: [1, 2], ok: true, none: null },
          {
            id: `${c.prefix}-id-1`,
            headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'sy-saga-id': 's-1' },
          },
        );
        const generated = await c.bus.publish(topic, 'plain string');
        const after = Date.now();
        assert.equal(given, `${c.prefix}-id-1`);
        assert.equal(typeof generated, 'string');
        assert.ok(generated.length > 0, 'a generated id is not empty');
        assert.notEqual(generated, given);

        await got.waitFor(2, c.deadline, 'both messages');
        const first = got.byId(given);
        assert.equal(first.topic, topic);
        assert.deepEqual(first.payload, { order: 'o-1', lines: [1, 2], ok: true, none: null });
        assert.equal(first.headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
        assert.equal(first.headers['sy-saga-id'], 's-1');
        assert.equal(first.attempt, 1);
        assert.equal(first.group, group);
        assert.ok(
          first.publishedAt >= before - 1 && first.publishedAt <= after + 1,
          `publishedAt ${first.publishedAt} within [${before}, ${after}]`,
        );
        const second = got.byId(generated);
        assert.equal(second.payload, 'plain string');
        assert.equal(second.attempt, 1);
        assert.deepEqual(
          Object.keys(second.headers).filter((h) => h.startsWith('sy-dead-letter')),
          [],
          'no dead-letter headers on a first delivery',
        );
      });
    });

    it('headers and payloads keep unicode exactly', async () => {
      await withBus(async (c) => {
        const topic = c.name('unicode');
        const got = c.collector();
        await c.subscribe(topic, got.handler, { group: c.name('g') });
        const headers = { 'x-note': 'café ☕ 日本語 🚀 «ç»', baggage: 'user=Zoë' };
        const payload = { text: 'Grüße, 世界 🌍', emoji: '👩‍👩‍👧' };
        const id = await c.bus.publish(topic, payload, { headers });
        await got.waitFor(1, c.deadline, 'the unicode message');
        const delivery = got.byId(id);
        assert.equal(delivery.headers['x-note'], headers['x-note']);
        assert.equal(delivery.headers.baggage, headers.baggage);
        assert.deepEqual(delivery.payload, payload);
      });
    });

    it('two groups each get every message', async () => {
      await withBus(async (c) => {
        const topic = c.name('fanout');
        const billing = c.collector();
        const shipping = c.collector();
        await c.subscribe(topic, billing.handler, { group: c.name('billing') });
        await c.subscribe(topic, shipping.handler, { group: c.name('shipping') });
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push(await c.bus.publish(topic, { i }));
        await billing.waitFor(5, c.deadline, 'billing: 5 messages');
        await shipping.waitFor(5, c.deadline, 'shipping: 5 messages');
        assert.deepEqual(billing.ids().sort(), [...ids].sort());
        assert.deepEqual(shipping.ids().sort(), [...ids].sort());
        assert.ok(billing.all.every((d) => d.group === c.name('billing')));
        assert.ok(shipping.all.every((d) => d.group === c.name('shipping')));
      });
    });

    it('members of one group share the messages, none handled by both', async () => {
      await withBus(async (c) => {
        const topic = c.name('share');
        const group = c.name('workers');
        const a = c.collector({ delayMs: 10 });
        const b = c.collector({ delayMs: 10 });
        await c.subscribe(topic, a.handler, { group });
        await c.subscribe(topic, b.handler, { group }, await c.secondOrFirst());
        const ids: string[] = [];
        for (let i = 0; i < 20; i++) ids.push(await c.bus.publish(topic, { i }));
        await c.waitUntil(() => new Set([...a.ids(), ...b.ids()]).size === 20, 'all 20 messages handled');
        const inA = new Set(a.ids());
        const both = b.ids().filter((id) => inA.has(id));
        const redelivered = [...a.all, ...b.all].some((d) => d.attempt > 1);
        if (!redelivered) assert.deepEqual(both, [], 'no message handled by both members');
        assert.ok(a.all.length > 0 && b.all.length > 0, `both members got work: ${a.all.length} and ${b.all.length}`);
      });
    });

    it('a group keeps messages published while no member is connected', async () => {
      await withBus(async (c) => {
        const topic = c.name('offline');
        const group = c.name('g');
        const first = c.collector();
        const sub = await c.subscribe(topic, first.handler, { group });
        await sub.close();
        const id = await c.bus.publish(topic, { missed: true });
        const later = c.collector();
        await c.subscribe(topic, later.handler, { group });
        await later.waitFor(1, c.deadline, 'the message published while offline');
        assert.equal(later.all[0]?.id, id);
        assert.equal(first.all.length, 0);
      });
    });

    it('declares the ordering guarantee it is tested for', async () => {
      await withBus(async (c) => {
        assert.equal(c.bus.guarantees.ordering, ordering);
      });
    });

    const acrossConnections = secondConnection ? it : undefined;
    acrossConnections?.('a member on another connection consumes what this one published', async () => {
      await withBus(async (c) => {
        assert.ok(
          c.fixture.second,
          'the fixture must give a second connection (or register with secondConnection: false)',
        );
        const other = await c.secondOrFirst();
        const topic = c.name('cross');
        const group = c.name('g');
        const sub = await c.subscribe(topic, async () => {}, { group }, other);
        await sub.close();
        // The group was created through the other connection; this one publishes while it is away.
        const id = await c.bus.publish(topic, { across: true });
        const got = c.collector();
        await c.subscribe(topic, got.handler, { group }, other);
        await got.waitFor(1, c.deadline, 'the message from the first connection');
        assert.equal(got.all[0]?.id, id);
      });
    });

    it('a handler that throws gets the message again with attempt 2, 3 after at least the backoff', async () => {
      await withBus(async (c) => {
        const topic = c.name('retry');
        const seen: { attempt: number; at: number }[] = [];
        await c.subscribe(
          topic,
          async (d) => {
            seen.push({ attempt: d.attempt, at: Date.now() });
            if (d.attempt < 3) throw new Error(`fail ${d.attempt}`);
          },
          { group: c.name('g'), backoff: fixedBackoff, maxDeliveries: 5 },
        );
        await c.bus.publish(topic, { retry: true });
        await c.waitUntil(() => seen.length >= 3, 'three deliveries');
        await c.quiet();
        assert.deepEqual(
          seen.map((s) => s.attempt),
          [1, 2, 3],
          'acknowledged on attempt 3, not delivered again',
        );
        for (let i = 1; i < seen.length; i++) {
          const gap = (seen[i]?.at ?? 0) - (seen[i - 1]?.at ?? 0);
          assert.ok(
            gap >= BACKOFF_MS - TIMER_SLACK_MS,
            `redelivery ${i} came after ${gap}ms, backoff is ${BACKOFF_MS}ms`,
          );
        }
      });
    });

    it('after maxDeliveries the message is on the dead-letter topic with its headers, and not redelivered', async () => {
      await withBus(async (c) => {
        const topic = c.name('poison');
        const group = c.name('g');
        const dead = c.collector();
        await c.subscribe(`dead-letter.${topic}`, dead.handler, { group: c.name('dlq') });
        let calls = 0;
        await c.subscribe(
          topic,
          async () => {
            calls++;
            throw new Error(`poison pill ${calls}`);
          },
          { group, backoff: fixedBackoff, maxDeliveries: 3 },
        );
        const id = await c.bus.publish(topic, { bad: 'data' }, { headers: { 'sy-saga-id': 's-9' } });
        await dead.waitFor(1, c.deadline, 'the dead-lettered message');
        await c.quiet();
        assert.equal(calls, 3, 'delivered maxDeliveries times, then no more');
        const letter = dead.all[0];
        assert.ok(letter);
        assert.equal(dead.all.length, 1);
        assert.equal(letter.id, id);
        assert.equal(letter.topic, `dead-letter.${topic}`);
        assert.deepEqual(letter.payload, { bad: 'data' });
        assert.equal(letter.headers['sy-saga-id'], 's-9');
        assert.equal(letter.headers['sy-dead-letter-group'], group);
        assert.equal(letter.headers['sy-deliveries'], '3');
        assert.match(letter.headers['sy-dead-letter-error'] ?? '', /poison pill 3/);
      });
    });

    it('deadLetterTopic picks the destination, and a long error is truncated in its header', async () => {
      await withBus(async (c) => {
        const topic = c.name('custom-dlq');
        const deadTopic = c.name('parking');
        const dead = c.collector();
        await c.subscribe(deadTopic, dead.handler, { group: c.name('dlq') });
        await c.subscribe(
          topic,
          async () => {
            throw new Error(`huge ${'x'.repeat(20_000)}`);
          },
          { group: c.name('g'), maxDeliveries: 1, deadLetterTopic: deadTopic },
        );
        const id = await c.bus.publish(topic, 1);
        await dead.waitFor(1, c.deadline, 'the dead-lettered message');
        const letter = dead.all[0];
        assert.equal(letter?.id, id);
        assert.equal(letter?.headers['sy-deliveries'], '1');
        const error = letter?.headers['sy-dead-letter-error'] ?? '';
        assert.match(error, /^huge x/);
        assert.ok(error.length < 5_000, `the error header is truncated (${error.length} characters)`);
      });
    });

    it('a handler running past ackTimeout has its signal aborted and the message redelivered', async () => {
      await withBus(async (c) => {
        const topic = c.name('slow');
        const signals: AbortSignal[] = [];
        const attempts: number[] = [];
        await c.subscribe(
          topic,
          async (d, signal) => {
            attempts.push(d.attempt);
            signals.push(signal);
            if (d.attempt === 1) {
              // Hold until aborted, then resolve: the run still counts as failed.
              await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
            }
          },
          { group: c.name('g'), ackTimeout: 60, backoff: fixedBackoff, maxDeliveries: 3 },
        );
        await c.bus.publish(topic, { slow: true });
        await c.waitUntil(() => attempts.length >= 2, 'the redelivery after the ack timeout');
        await c.quiet();
        assert.deepEqual(attempts, [1, 2]);
        assert.equal(signals[0]?.aborted, true, 'the first handler signal was aborted');
        assert.equal(signals[1]?.aborted, false, 'the acknowledged run was not aborted');
      });
    });

    const ordered = ordering === 'per-topic' ? it : undefined;
    ordered?.('ordering: one member with concurrency 1 sees a topic in publish order (per-topic buses)', async () => {
      await withBus(async (c) => {
        const topic = c.name('ordered');
        const got = c.collector();
        await c.subscribe(topic, got.handler, { group: c.name('g'), concurrency: 1 });
        const ids: string[] = [];
        for (let i = 0; i < 50; i++) ids.push(await c.bus.publish(topic, { i }));
        await got.waitFor(50, c.deadline, '50 messages');
        assert.deepEqual(got.ids(), ids);
      });
    });

    it('concurrency N: at most N handlers run at once, and more than one does', async () => {
      await withBus(async (c) => {
        const topic = c.name('parallel');
        let active = 0;
        let peak = 0;
        let done = 0;
        await c.subscribe(
          topic,
          async () => {
            active++;
            peak = Math.max(peak, active);
            await timeout(25);
            active--;
            done++;
          },
          { group: c.name('g'), concurrency: 3 },
        );
        for (let i = 0; i < 12; i++) await c.bus.publish(topic, { i });
        await c.waitUntil(() => done >= 12, '12 handled');
        assert.ok(peak <= 3, `at most 3 at once, saw ${peak}`);
        assert.ok(peak >= 2, `handlers ran concurrently (peak ${peak})`);
      });
    });

    it('subscription.close waits for running handlers, then no more deliveries; the group keeps the rest', async () => {
      await withBus(async (c) => {
        const topic = c.name('close-sub');
        const group = c.name('g');
        const hold = gate();
        const started = gate();
        let finished = false;
        const got: string[] = [];
        const sub = await c.subscribe(
          topic,
          async (d) => {
            got.push(d.id);
            started.open();
            await hold.promise;
            finished = true;
          },
          { group },
        );
        await c.bus.publish(topic, 1);
        await c.within(started.promise, 'the handler to start');
        let closed = false;
        const closing = sub.close().then(() => {
          closed = true;
        });
        await timeout(30);
        assert.equal(closed, false, 'close() waits for the running handler');
        hold.open();
        await c.within(closing, 'close() after the handler settled');
        assert.equal(finished, true);
        await sub.close(); // idempotent
        const later = await c.bus.publish(topic, 2);
        await c.quiet();
        assert.equal(got.length, 1, 'no delivery after close');
        const next = c.collector();
        await c.subscribe(topic, next.handler, { group });
        await next.waitFor(1, c.deadline, 'the message published after close');
        assert.equal(next.all[0]?.id, later);
      });
    });

    it('bus.close closes every subscription (waiting for handlers) and is idempotent; then SY_BUS_CLOSED', async () => {
      await withBus(async (c) => {
        const topic = c.name('close-bus');
        const hold = gate();
        const started = gate();
        let finished = false;
        await c.bus.subscribe(
          topic,
          async () => {
            started.open();
            await hold.promise;
            finished = true;
          },
          { group: c.name('g') },
        );
        await c.bus.publish(topic, 1);
        await c.within(started.promise, 'the handler to start');
        const closing = c.bus.close();
        await timeout(20);
        hold.open();
        await c.within(closing, 'bus.close()');
        assert.equal(finished, true, 'close() waited for the running handler');
        await c.bus.close();
        await c.bus[Symbol.asyncDispose]();
        await assert.rejects(c.bus.publish(topic, 2), (err) => isSwitchyardError(err, 'SY_BUS_CLOSED'));
        await assert.rejects(
          c.bus.subscribe(topic, async () => {}, { group: c.name('g') }),
          (err) => isSwitchyardError(err, 'SY_BUS_CLOSED'),
        );
      });
    });

    it('rejects bad topic and group names with SY_BUS_INVALID_TOPIC', async () => {
      await withBus(async (c) => {
        const invalidTopic = (err: unknown) => isSwitchyardError(err, 'SY_BUS_INVALID_TOPIC');
        const ok = c.name('names');
        for (const topic of ['order.*', 'order.>', 'a..b', '', '.a', 'a b', 'x'.repeat(201), 'ordér']) {
          await assert.rejects(c.bus.publish(topic, 1), invalidTopic, `publish to ${JSON.stringify(topic)}`);
          await assert.rejects(
            c.bus.subscribe(topic, async () => {}, { group: c.name('g') }),
            invalidTopic,
            `subscribe to ${JSON.stringify(topic)}`,
          );
        }
        await assert.rejects(
          c.bus.subscribe(ok, async () => {}, { group: 'bad group' }),
          invalidTopic,
        );
        await assert.rejects(
          c.bus.subscribe(ok, async () => {}, { group: 'g.*' }),
          invalidTopic,
        );
        await assert.rejects(
          c.bus.subscribe(ok, async () => {}, { group: c.name('g'), deadLetterTopic: 'dead.#' }),
          invalidTopic,
        );
      });
    });

    it('rejects bad subscribe options with SY_CONFIG_INVALID naming the field', async () => {
      await withBus(async (c) => {
        const topic = c.name('options');
        const group = c.name('g');
        const cases: [Record<string, unknown>, string][] = [
          [{ group, concurrency: 0 }, 'subscribe.concurrency'],
          [{ group, concurrency: 1.5 }, 'subscribe.concurrency'],
          [{ group, maxDeliveries: 0 }, 'subscribe.maxDeliveries'],
          [{ group, ackTimeout: 'soon' }, 'subscribe.ackTimeout'],
          [{ group, backoff: { initial: -1 } }, 'subscribe.backoff.initial'],
          [{ group, concurency: 2 }, 'concurency'],
          [{}, 'subscribe.group'],
        ];
        for (const [options, field] of cases) {
          await assert.rejects(
            c.bus.subscribe(topic, async () => {}, options as unknown as SubscribeOptions),
            (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes(field),
            `${JSON.stringify(options)} names ${field}`,
          );
        }
      });
    });

    it('rejects a payload that is not JSON and a header that is not a string with SY_BUS_INVALID_MESSAGE', async () => {
      await withBus(async (c) => {
        const topic = c.name('payload');
        const got = c.collector();
        await c.subscribe(topic, got.handler, { group: c.name('g') });
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        const bad: unknown[] = [
          undefined,
          () => 1,
          10n,
          Number.NaN,
          Number.POSITIVE_INFINITY,
          new Date(0),
          new Map(),
          { nested: { when: undefined } },
          [1, Symbol('s')],
          cyclic,
        ];
        for (const payload of bad) {
          await assert.rejects(
            c.bus.publish(topic, payload as JsonValue),
            (err) => isSwitchyardError(err, 'SY_BUS_INVALID_MESSAGE'),
            `payload ${String(typeof payload)} is rejected`,
          );
        }
        await assert.rejects(
          c.bus.publish(topic, 1, { headers: { n: 1 as unknown as string } }),
          (err) => isSwitchyardError(err, 'SY_BUS_INVALID_MESSAGE') && err.message.includes('headers.n'),
        );
        await assert.rejects(c.bus.publish(topic, 1, { id: '' }), (err) =>
          isSwitchyardError(err, 'SY_BUS_INVALID_MESSAGE'),
        );
        await c.quiet();
        assert.equal(got.all.length, 0, 'nothing was published');
      });
    });

    it('publish with an aborted signal rejects with SY_CANCELLED and publishes nothing', async () => {
      await withBus(async (c) => {
        const topic = c.name('abort');
        const got = c.collector();
        await c.subscribe(topic, got.handler, { group: c.name('g') });
        await assert.rejects(c.bus.publish(topic, 1, { signal: AbortSignal.abort(new Error('stop')) }), (err) =>
          isSwitchyardError(err, 'SY_CANCELLED'),
        );
        await c.quiet();
        assert.equal(got.all.length, 0);
      });
    });
  });
}

/** Records the deliveries a handler receives. */
interface Collector {
  readonly all: Delivery[];
  readonly handler: MessageHandler;
  ids(): string[];
  byId(id: string): Delivery;
  waitFor(count: number, deadlineMs: number, what: string): Promise<void>;
}

/** Per-test helpers: names under the prefix, deadlines, and the buses and subscriptions to close. */
class Context {
  readonly fixture: EventBusFixture;
  readonly prefix: string;
  readonly deadline: number;
  readonly #quietMs: number;
  readonly #subscriptions: Subscription[] = [];
  readonly #others: EventBus[] = [];
  #other: EventBus | undefined;

  constructor(fixture: EventBusFixture, seq: number) {
    this.fixture = fixture;
    this.prefix = `${fixture.topicPrefix}.c${seq}`;
    const scale = fixture.timeScale ?? 1;
    this.deadline = DEADLINE_MS * scale;
    this.#quietMs = QUIET_MS * scale;
  }

  get bus(): EventBus {
    return this.fixture.bus;
  }

  /** A topic or group name under this test's prefix. */
  name(label: string): string {
    return `${this.prefix}.${label}`;
  }

  /** The fixture's second connection (opened once per test), else the bus itself. */
  async secondOrFirst(): Promise<EventBus> {
    if (!this.fixture.second) return this.bus;
    if (!this.#other) {
      this.#other = await this.fixture.second();
      this.#others.push(this.#other);
    }
    return this.#other;
  }

  async subscribe(
    topic: string,
    handler: MessageHandler,
    options: SubscribeOptions,
    bus: EventBus = this.bus,
  ): Promise<Subscription> {
    const sub = await bus.subscribe(topic, handler, options);
    this.#subscriptions.push(sub);
    return sub;
  }

  collector(options: { delayMs?: number } = {}): Collector {
    const all: Delivery[] = [];
    return {
      all,
      handler: async (d) => {
        all.push(d);
        if (options.delayMs) await timeout(options.delayMs);
      },
      ids: () => all.map((d) => d.id),
      byId(id) {
        const found = all.find((d) => d.id === id);
        assert.ok(found, `a delivery of ${id}`);
        return found;
      },
      waitFor: (count, deadlineMs, what) => this.waitUntil(() => all.length >= count, what, deadlineMs),
    };
  }

  /** Polls `condition` every 5ms until it holds; fails after the deadline. */
  async waitUntil(condition: () => boolean, what: string, deadlineMs = this.deadline): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (!condition()) {
      if (Date.now() > end) assert.fail(`timed out after ${deadlineMs}ms waiting for ${what}`);
      await timeout(5);
    }
  }

  /** Awaits `promise`, failing after the deadline. */
  async within<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${this.deadline}ms waiting for ${what}`)),
        this.deadline,
      );
    });
    try {
      return await Promise.race([promise, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits long enough for a delivery that should not come to show up (several backoffs). */
  quiet(): Promise<void> {
    return timeout(Math.max(this.#quietMs, BACKOFF_MS * 3));
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const sub of this.#subscriptions) await sub.close().catch((err: unknown) => errors.push(err));
    for (const other of this.#others) await other.close().catch((err: unknown) => errors.push(err));
    await this.fixture.cleanup();
    if (errors.length > 0) throw errors[0];
  }
}
