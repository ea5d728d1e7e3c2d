import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isSwitchyardError, type JsonValue } from '@switchyard/core';
import { createOutboxRelay, type EventBus, type OutboxSource, type PublishOptions, sagaError } from '@switchyard/saga';
import pg from 'pg';
import { dropSchema, randomSchema, requirePostgres, TEST_POSTGRES_URL } from './internal/require-postgres.ts';
import { createPostgresInbox } from './postgres-inbox.ts';
import { createPostgresOutbox } from './postgres-outbox.ts';

interface Published {
  id: string;
  topic: string;
  payload: JsonValue;
  headers: Record<string, string>;
}

/**
 * A test double: records publishes after yielding to the event loop (or waiting `delayMs`), so
 * relays interleave; `log` collects the publishes of several buses in the order they happened.
 */
function recordingBus(log: Published[] = [], delayMs = 0) {
  const published: Published[] = [];
  const state = { down: false };
  const bus: EventBus = {
    guarantees: { ordering: 'per-topic', durable: false },
    async publish<T extends JsonValue>(topic: string, payload: T, options?: PublishOptions) {
      await new Promise((resolve) => (delayMs > 0 ? setTimeout(resolve, delayMs) : setImmediate(resolve)));
      if (state.down) throw sagaError('SY_BUS_UNAVAILABLE', `recording bus: down (publish to "${topic}")`);
      const id = options?.id ?? crypto.randomUUID();
      const record = { id, topic, payload, headers: { ...options?.headers } };
      published.push(record);
      if (log !== published) log.push(record);
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

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, deadlineMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('postgres outbox and inbox', () => {
  const schema = randomSchema('outbox');
  let pool: pg.Pool;

  before(async () => {
    await requirePostgres();
    pool = new pg.Pool({ connectionString: TEST_POSTGRES_URL, max: 12 });
    const setup = await pool.connect();
    try {
      await setup.query(`CREATE SCHEMA ${schema}`);
      await setup.query(`CREATE TABLE ${schema}.orders (id text PRIMARY KEY, total int NOT NULL)`);
      await setup.query(`CREATE TABLE ${schema}.reservations (order_id text NOT NULL)`);
    } finally {
      setup.release();
    }
  });

  after(async () => {
    await pool?.end();
    await dropSchema(schema);
  });

  /** Writes an order and its event in one transaction; `fail` rolls it back after the add. */
  async function placeOrder(table: string, id: string, fail = false, topic = 'order.created'): Promise<string> {
    const outbox = createPostgresOutbox({ pool, schema, table });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${schema}.orders (id, total) VALUES ($1, 1)`, [id]);
      const eventId = await outbox.add(client, {
        topic,
        payload: { orderId: id },
        headers: { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` },
      });
      if (fail) throw new Error('business rule failed');
      await client.query('COMMIT');
      return eventId;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  async function outboxFor(table: string) {
    const outbox = createPostgresOutbox({ pool, schema, table });
    await outbox.migrate();
    return outbox;
  }

  it('migrates concurrently and keeps no event of a transaction that rolls back', async () => {
    const outbox = createPostgresOutbox({ pool, schema, table: 'rollback_outbox' });
    await Promise.all([outbox.migrate(), outbox.migrate(), outbox.migrate()]);
    await assert.rejects(placeOrder('rollback_outbox', 'o-rb', true), /business rule failed/);
    assert.equal(await outbox.pending(), 0);
    const { bus, published } = recordingBus();
    assert.equal(await createOutboxRelay({ source: outbox.source, bus }).flush(), 0);
    assert.deepEqual(published, []);
  });

  it('publishes in order with the stored ids and headers, then marks them sent', async () => {
    const outbox = await outboxFor('order_outbox');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await placeOrder('order_outbox', `o-order-${i}`));
    const { bus, published } = recordingBus();
    const relay = createOutboxRelay({ source: outbox.source, bus, batchSize: 2 });
    assert.equal(await relay.flush(), 5);
    assert.deepEqual(
      published.map((p) => p.id),
      ids,
    );
    assert.deepEqual(published[0]?.payload, { orderId: 'o-order-0' });
    assert.equal(published[0]?.headers.traceparent, `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`);
    assert.equal(await outbox.pending(), 0);
    assert.equal(await relay.flush(), 0);
  });

  it('rejects an invalid event in the transaction and a bad table name at once', async () => {
    const outbox = await outboxFor('invalid_outbox');
    await assert.rejects(outbox.add(pool, { topic: 'order.created', payload: { n: Number.NaN } }), (err) =>
      isSwitchyardError(err, 'SY_BUS_INVALID_MESSAGE'),
    );
    assert.equal(await outbox.pending(), 0);
    assert.throws(
      () => createPostgresOutbox({ pool, table: 'x"; DROP TABLE y; --' }),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /postgresOutbox\.table/.test(err.message),
    );
  });

  it('marks nothing sent while the bus is down and loses nothing', async () => {
    const outbox = await outboxFor('down_outbox');
    await placeOrder('down_outbox', 'o-down-1');
    await placeOrder('down_outbox', 'o-down-2');
    const { bus, published, state } = recordingBus();
    state.down = true;
    const relay = createOutboxRelay({ source: outbox.source, bus });
    await assert.rejects(relay.flush(), (err) => isSwitchyardError(err, 'SY_BUS_UNAVAILABLE'));
    assert.equal(await outbox.pending(), 2);
    state.down = false;
    assert.equal(await relay.flush(), 2);
    assert.deepEqual(
      published.map((p) => p.payload),
      [{ orderId: 'o-down-1' }, { orderId: 'o-down-2' }],
    );
  });

  it('two relays on one table share the work, publish each event exactly once, each topic in order', async () => {
    const outbox = await outboxFor('shared_outbox');
    const writer = await pool.connect();
    const written: string[] = [];
    const topics = Array.from({ length: 10 }, (_, i) => `shared.t${i}`);
    try {
      await writer.query('BEGIN');
      for (let i = 0; i < 150; i++) {
        written.push(await outbox.add(writer, { topic: topics[i % topics.length] as string, payload: { n: i } }));
      }
      await writer.query('COMMIT');
    } finally {
      writer.release();
    }
    const log: Published[] = [];
    // The first relay publishes slowly, so the second would overtake it on a shared topic.
    const buses = [recordingBus(log, 3), recordingBus(log)];
    const relays = buses.map(({ bus }) =>
      createOutboxRelay({ source: outbox.source, bus, batchSize: 7, pollInterval: 5 }),
    );
    for (const relay of relays) relay.start();
    try {
      await waitFor(async () => (await outbox.pending()) === 0, 'both relays to drain the outbox', 10_000);
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
    }
    // Claims skip each other's locked rows, so both relays published (they worked in parallel).
    for (const { published } of buses) assert.ok(published.length > 0, 'a relay published nothing');
    const published = log;
    const counts = new Map<string, number>();
    for (const p of published) counts.set(p.id, (counts.get(p.id) ?? 0) + 1);
    assert.equal(counts.size, written.length);
    assert.deepEqual(
      [...counts.entries()].filter(([, n]) => n !== 1),
      [],
      'an event was published more than once',
    );
    for (const topic of topics) {
      // In the order of publishing across both relays, whichever relay held the topic each time.
      const order = log.filter((p) => p.topic === topic).map((p) => (p.payload as { n: number }).n);
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        `${topic} out of order`,
      );
    }
  });

  it('a relay dying between publishing and marking: republished with the same id, the inbox drops it', async () => {
    const outbox = await outboxFor('crash_outbox');
    const inbox = createPostgresInbox({ pool, schema, table: 'crash_inbox' });
    await inbox.migrate();
    const id = await placeOrder('crash_outbox', 'o-crash');
    const { bus, published } = recordingBus();
    // The relay process "dies" after publishing: its transaction ends with nothing marked.
    const dying: OutboxSource = {
      name: 'dying relay',
      async claim(limit) {
        const claim = await outbox.source.claim(limit);
        return {
          events: claim.events,
          async settle() {
            await claim.settle([]);
            throw new Error('relay process died before marking sent');
          },
        };
      },
    };
    await assert.rejects(createOutboxRelay({ source: dying, bus }).flush(), /died/);
    assert.equal(await outbox.pending(), 1);
    assert.equal(await createOutboxRelay({ source: outbox.source, bus }).flush(), 1);
    assert.deepEqual(
      published.map((p) => p.id),
      [id, id],
    );

    const handled: boolean[] = [];
    for (const message of published) {
      handled.push(
        await inbox.handleOnce({ id: message.id, group: 'inventory' }, async (client) => {
          await client.query(`INSERT INTO ${schema}.reservations (order_id) VALUES ($1)`, [
            (message.payload as { orderId: string }).orderId,
          ]);
        }),
      );
    }
    assert.deepEqual(handled, [true, false]);
    const count = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.reservations WHERE order_id = 'o-crash'`);
    assert.equal(count.rows[0].n, 1);
  });

  it('inbox: effects that throw roll back with the inbox row; concurrent duplicates run once', async () => {
    const inbox = createPostgresInbox({ pool, schema, table: 'effects_inbox' });
    await Promise.all([inbox.migrate(), inbox.migrate()]);
    const message = { id: 'm-effects', group: 'inventory' };
    await assert.rejects(
      inbox.handleOnce(message, async (client) => {
        await client.query(`INSERT INTO ${schema}.reservations (order_id) VALUES ('o-effects')`);
        throw new Error('downstream refused');
      }),
      /downstream refused/,
    );
    assert.equal(await inbox.has(message), false);
    const reserve = async (client: pg.PoolClient) => {
      await client.query(`INSERT INTO ${schema}.reservations (order_id) VALUES ('o-effects')`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const results = await Promise.all([inbox.handleOnce(message, reserve), inbox.handleOnce(message, reserve)]);
    assert.deepEqual(results.sort(), [false, true]);
    const count = await pool.query(
      `SELECT count(*)::int AS n FROM ${schema}.reservations WHERE order_id = 'o-effects'`,
    );
    assert.equal(count.rows[0].n, 1);
    assert.equal(await inbox.has(message), true);
    assert.equal(await inbox.prune(0), 1);
    assert.equal(await inbox.has(message), false);
  });

  it('LISTEN/NOTIFY wakes a relay as soon as the transaction commits', async () => {
    const outbox = await outboxFor('notify_outbox');
    const { bus, published } = recordingBus();
    const relay = createOutboxRelay({ source: outbox.source, bus, pollInterval: '1h' });
    const listener = await outbox.listen(() => relay.notify());
    relay.start();
    try {
      await placeOrder('notify_outbox', 'o-notify');
      await waitFor(() => published.length === 1, 'the notified relay to publish');
      assert.deepEqual(published[0]?.payload, { orderId: 'o-notify' });
    } finally {
      await relay.stop();
      await listener.close();
    }
  });

  it('wraps an unreachable server in SY_POSTGRES_UNAVAILABLE', async () => {
    const dead = new pg.Pool({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      connectionTimeoutMillis: 1000,
    });
    try {
      const outbox = createPostgresOutbox({ pool: dead, schema });
      await assert.rejects(outbox.source.claim(10), (err) => isSwitchyardError(err, 'SY_POSTGRES_UNAVAILABLE'));
      const inbox = createPostgresInbox({ pool: dead, schema });
      let ran = false;
      await assert.rejects(
        inbox.handleOnce({ id: 'm', group: 'g' }, async () => {
          ran = true;
        }),
        (err) => isSwitchyardError(err, 'SY_POSTGRES_UNAVAILABLE'),
      );
      assert.equal(ran, false);
    } finally {
      await dead.end();
    }
  });
});
