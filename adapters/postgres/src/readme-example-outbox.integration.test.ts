import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createMemoryEventBus, createOutboxRelay } from '@switchyard/saga';
import pg from 'pg';
import { dropSchema, randomSchema, requirePostgres, TEST_POSTGRES_URL } from './internal/require-postgres.ts';
import { createPostgresInbox } from './postgres-inbox.ts';
import { createPostgresOutbox } from './postgres-outbox.ts';

const schema = randomSchema('outbox_readme');
let pool: pg.Pool;
before(async () => {
  await requirePostgres();
  pool = new pg.Pool({ connectionString: TEST_POSTGRES_URL });
});
after(async () => {
  await pool?.end();
  await dropSchema(schema);
});

it('README: orders write an event with the order; inventory reserves once per event', async () => {
  const bus = createMemoryEventBus();
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(`CREATE TABLE ${schema}.orders (id text PRIMARY KEY, sku text NOT NULL)`);
  await pool.query(`CREATE TABLE ${schema}.reservations (order_id text PRIMARY KEY)`);

  // Orders: the event is written in the order's transaction; a relay publishes it after COMMIT.
  const outbox = createPostgresOutbox({ pool, schema });
  await outbox.migrate();
  const relay = createOutboxRelay({ source: outbox.source, bus });
  const listener = await outbox.listen(() => relay.notify()); // wake the relay on each commit
  relay.start();

  // Inventory: the inbox records the message id in the same transaction as the reservation.
  const inbox = createPostgresInbox({ pool, schema });
  await inbox.migrate();
  let handled = 0;
  await bus.subscribe<{ orderId: string }>(
    'order.created',
    async (message) => {
      await inbox.handleOnce(message, async (client) => {
        await client.query(`INSERT INTO ${schema}.reservations (order_id) VALUES ($1)`, [message.payload.orderId]);
      });
      handled++;
    },
    { group: 'inventory' },
  );

  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${schema}.orders (id, sku) VALUES ($1, $2)`, ['o-1', 'sku-1']);
    await outbox.add(client, { topic: 'order.created', payload: { orderId: 'o-1' } });
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }

  const deadline = Date.now() + 5000;
  while (handled < 1) {
    assert.ok(Date.now() < deadline, 'timed out waiting for inventory');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const { rows } = await pool.query(`SELECT order_id FROM ${schema}.reservations`);
  assert.deepEqual(rows, [{ order_id: 'o-1' }]);

  await relay.stop();
  await listener.close();
  await bus.close();
});
