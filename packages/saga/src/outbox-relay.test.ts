import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { isSwitchyardError, type JsonValue, ManualClock } from '@switchyard/core';
import type { EventBus, PublishOptions } from './bus.ts';
import { sagaError } from './errors.ts';
import type { OutboxSource } from './outbox.ts';
import { createOutboxRelay } from './outbox-relay.ts';
import { createSqliteInbox } from './sqlite-inbox.ts';
import { createSqliteOutbox } from './sqlite-outbox.ts';

interface Published {
  id: string;
  topic: string;
  payload: JsonValue;
  headers: Record<string, string>;
}

/** A test double: records what is published; `down` makes every publish fail like a broker outage. */
function recordingBus() {
  const published: Published[] = [];
  const state = { down: false, failTopic: undefined as string | undefined };
  const bus: EventBus = {
    guarantees: { ordering: 'per-topic', durable: false },
    async publish<T extends JsonValue>(topic: string, payload: T, options?: PublishOptions) {
      if (state.down || state.failTopic === topic) {
        throw sagaError('SY_BUS_UNAVAILABLE', `recording bus: down (publish to "${topic}")`);
      }
      const id = options?.id ?? crypto.randomUUID();
      published.push({ id, topic, payload, headers: { ...options?.headers } });
      return id;
    },
    async subscribe() {
      throw new Error('recording bus: subscribe is not used here');
    },
    async close() {},
    async [Symbol.asyncDispose]() {},
  };
  return { bus, published, state };
}

function setup(options: { clock?: ManualClock } = {}) {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE orders (id TEXT PRIMARY KEY, total INTEGER NOT NULL)');
  const outbox = createSqliteOutbox(db, options.clock ? { clock: options.clock } : {});
  outbox.migrate();
  const placeOrder = (id: string, total: number, headers: Record<string, string> = {}) => {
    db.exec('BEGIN');
    try {
      db.prepare('INSERT INTO orders (id, total) VALUES (?, ?)').run(id, total);
      const eventId = outbox.add({ topic: 'order.created', payload: { orderId: id, total }, headers });
      db.exec('COMMIT');
      return eventId;
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  };
  return { db, outbox, placeOrder };
}

async function waitFor(condition: () => boolean, what: string, deadlineMs = 2000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('sqlite outbox', () => {
  it('keeps nothing of a transaction that rolls back', async () => {
    const { db, outbox } = setup();
    const { bus, published } = recordingBus();
    db.exec('BEGIN');
    db.prepare('INSERT INTO orders (id, total) VALUES (?, ?)').run('o-1', 10);
    outbox.add({ topic: 'order.created', payload: { orderId: 'o-1' } });
    db.exec('ROLLBACK');
    assert.equal(outbox.pending(), 0);
    assert.equal(await createOutboxRelay({ source: outbox.source, bus }).flush(), 0);
    assert.deepEqual(published, []);
    assert.equal(db.prepare('SELECT count(*) AS n FROM orders').get()?.n, 0);
  });

  it('rejects an invalid event and writes nothing', () => {
    const { outbox } = setup();
    assert.throws(
      () => outbox.add({ topic: 'order.*', payload: {} }),
      (err) => isSwitchyardError(err, 'SY_BUS_INVALID_TOPIC'),
    );
    assert.throws(
      () => outbox.add({ topic: 'order.created', payload: { at: new Date() } as unknown as JsonValue }),
      (err) => isSwitchyardError(err, 'SY_BUS_INVALID_MESSAGE'),
    );
    assert.equal(outbox.pending(), 0);
  });

  it('stores an event with a given id once', () => {
    const { outbox } = setup();
    assert.equal(outbox.add({ id: 'evt-1', topic: 'order.created', payload: 1 }), 'evt-1');
    assert.equal(outbox.add({ id: 'evt-1', topic: 'order.created', payload: 1 }), 'evt-1');
    assert.equal(outbox.pending(), 1);
  });

  it('rejects a table name that is not an identifier', () => {
    const db = new DatabaseSync(':memory:');
    assert.throws(
      () => createSqliteOutbox(db, { table: 'x; DROP TABLE y' }),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /sqliteOutbox\.table/.test(err.message),
    );
  });

  it('wraps a SQLite failure in SY_BUS_OUTBOX_FAILED', () => {
    const db = new DatabaseSync(':memory:');
    const outbox = createSqliteOutbox(db);
    assert.throws(
      () => outbox.add({ topic: 'order.created', payload: 1 }), // not migrated: no table
      (err) => isSwitchyardError(err, 'SY_BUS_OUTBOX_FAILED') && err.cause instanceof Error,
    );
  });

  it('prunes sent events older than the given age, never unsent ones', async () => {
    const clock = new ManualClock(1_000_000);
    const { outbox, placeOrder } = setup({ clock });
    const { bus } = recordingBus();
    placeOrder('o-1', 1);
    await createOutboxRelay({ source: outbox.source, bus, clock }).flush();
    placeOrder('o-2', 2);
    clock.advance(3_600_000);
    assert.equal(outbox.prune('30m'), 1);
    assert.equal(outbox.pending(), 1);
  });
});

describe('outbox relay', () => {
  it('publishes in order with the stored ids and headers, then marks them sent', async () => {
    const { outbox, placeOrder } = setup();
    const { bus, published } = recordingBus();
    const ids = [1, 2, 3, 4, 5].map((n) =>
      placeOrder(`o-${n}`, n, { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` }),
    );
    const relay = createOutboxRelay({ source: outbox.source, bus, batchSize: 2 });
    assert.equal(await relay.flush(), 5);
    assert.deepEqual(
      published.map((p) => p.id),
      ids,
    );
    assert.deepEqual(published[0]?.payload, { orderId: 'o-1', total: 1 });
    assert.equal(published[0]?.headers.traceparent, `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
    assert.equal(outbox.pending(), 0);
    assert.equal(await relay.flush(), 0);
    assert.equal(published.length, 5);
  });

  it('keeps every event and marks none sent while the bus is down, then publishes them all', async () => {
    const { outbox, placeOrder } = setup();
    const { bus, published, state } = recordingBus();
    placeOrder('o-1', 1);
    placeOrder('o-2', 2);
    state.down = true;
    const relay = createOutboxRelay({ source: outbox.source, bus });
    await assert.rejects(relay.flush(), (err) => isSwitchyardError(err, 'SY_BUS_UNAVAILABLE'));
    assert.equal(outbox.pending(), 2);
    state.down = false;
    assert.equal(await relay.flush(), 2);
    assert.deepEqual(
      published.map((p) => p.payload),
      [
        { orderId: 'o-1', total: 1 },
        { orderId: 'o-2', total: 2 },
      ],
    );
  });

  it('holds back the rest of a failing topic but publishes other topics', async () => {
    const { outbox } = setup();
    const { bus, published, state } = recordingBus();
    outbox.add({ topic: 'a.x', payload: 1 });
    outbox.add({ topic: 'b.x', payload: 2 });
    outbox.add({ topic: 'a.x', payload: 3 });
    state.failTopic = 'a.x';
    const relay = createOutboxRelay({ source: outbox.source, bus });
    await assert.rejects(relay.flush());
    assert.deepEqual(
      published.map((p) => p.payload),
      [2],
    );
    state.failTopic = undefined;
    await relay.flush();
    assert.deepEqual(
      published.map((p) => p.payload),
      [2, 1, 3],
    );
  });

  it('republishes with the same id when marking sent fails, and the inbox drops the copy', async () => {
    const { outbox, placeOrder } = setup();
    const { bus, published } = recordingBus();
    const id = placeOrder('o-1', 1);
    // The process "dies" after publishing and before marking sent: settle fails.
    let dying = true;
    const source: OutboxSource = {
      name: 'crashing',
      async claim(limit) {
        const claim = await outbox.source.claim(limit);
        return {
          events: claim.events,
          async settle(sentIds) {
            if (dying) throw new Error('process died before marking sent');
            await claim.settle(sentIds);
          },
        };
      },
    };
    const relay = createOutboxRelay({ source, bus });
    await assert.rejects(relay.flush(), /process died/);
    assert.equal(outbox.pending(), 1);
    dying = false;
    assert.equal(await relay.flush(), 1);
    assert.deepEqual(
      published.map((p) => p.id),
      [id, id],
    );

    const consumer = new DatabaseSync(':memory:');
    consumer.exec('CREATE TABLE reservations (order_id TEXT NOT NULL)');
    const inbox = createSqliteInbox(consumer);
    inbox.migrate();
    const handled = published.map((message) =>
      inbox.handleOnce({ id: message.id, group: 'inventory' }, (db) => {
        db.prepare('INSERT INTO reservations (order_id) VALUES (?)').run(
          (message.payload as { orderId: string }).orderId,
        );
      }),
    );
    assert.deepEqual(handled, [true, false]);
    assert.equal(consumer.prepare('SELECT count(*) AS n FROM reservations').get()?.n, 1);
  });

  it('publishes in the background, wakes on notify, and backs off while the bus is down', async () => {
    const clock = new ManualClock(0);
    const { outbox, placeOrder } = setup({ clock });
    const { bus, published, state } = recordingBus();
    const errors: unknown[] = [];
    const relay = createOutboxRelay({
      source: outbox.source,
      bus,
      clock,
      pollInterval: '10s',
      backoff: { initial: 100, max: 1000, jitter: 'none' },
      onError: (error) => errors.push(error),
    });
    relay.start();
    await waitFor(() => clock.pending === 1, 'the relay to wait for the poll interval');
    placeOrder('o-1', 1);
    relay.notify();
    await waitFor(() => published.length === 1, 'the notified relay to publish');

    state.down = true;
    placeOrder('o-2', 2);
    relay.notify();
    await waitFor(() => errors.length === 1, 'a failed round');
    await waitFor(() => clock.pending === 1, 'the backoff timer');
    clock.advance(100);
    await waitFor(() => errors.length === 2, 'a retry after 100ms');
    assert.equal(outbox.pending(), 1);
    state.down = false;
    await waitFor(() => clock.pending === 1, 'the second backoff timer');
    clock.advance(199);
    assert.equal(published.length, 1, 'the second backoff is 200ms');
    clock.advance(1);
    await waitFor(() => published.length === 2, 'the retry to publish');
    assert.equal(outbox.pending(), 0);
    await relay.stop();
    assert.equal(clock.pending, 0, 'stop() leaves no timer behind');
  });

  it('validates its options by field', () => {
    const { outbox } = setup();
    const { bus } = recordingBus();
    assert.throws(
      () => createOutboxRelay({ source: outbox.source, bus, batchSize: 0 }),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /outboxRelay\.batchSize/.test(err.message),
    );
    assert.throws(
      () => createOutboxRelay({ source: outbox.source, bus: {} as EventBus }),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /outboxRelay\.bus/.test(err.message),
    );
  });
});
