import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isSwitchyardError, type JsonValue } from '@switchyard/core';
import type { EventBus, SagaRecord } from '@switchyard/saga';
import { openEventBus } from './event-bus.ts';
import {
  deleteStream,
  dropSchema,
  TEST_AMQP_URL,
  TEST_NATS_URL,
  TEST_POSTGRES_URL,
  uniqueName,
} from './internal/test-servers.ts';
import { openSagaStore } from './saga-store.ts';

const T0 = 1_700_000_000_000;
const saga = (id: string): SagaRecord => ({
  id,
  name: 'order',
  status: 'running',
  input: { id },
  outputs: {},
  meta: {},
  createdAt: T0,
  updatedAt: T0,
  version: 1,
});

/** Rejects with SY_CONFIG_INVALID whose message matches `pattern`. */
const configError = (pattern: RegExp) => (err: unknown) => {
  assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
  assert.match(err.message, pattern);
  return true;
};

/** Publishes `payload` and resolves with what `group` receives of it, within 10 s. */
async function roundTrip(bus: EventBus, topic: string, group: string, payload: JsonValue): Promise<JsonValue> {
  let received: (value: JsonValue) => void = () => {};
  const got = new Promise<JsonValue>((resolve) => {
    received = resolve;
  });
  const subscription = await bus.subscribe(
    topic,
    async (message) => {
      if (JSON.stringify(message.payload) === JSON.stringify(payload)) received(message.payload);
    },
    { group },
  );
  try {
    await bus.publish(topic, payload);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no delivery on ${topic} within 10 s`)), 10_000);
    });
    try {
      return await Promise.race([got, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await subscription.close();
  }
}

describe('openSagaStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-backends-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps sagas in PostgreSQL, in the schema ?schema= names (and only there)', async () => {
    const schema = uniqueName('store');
    const other = uniqueName('other');
    const store = await openSagaStore(`${TEST_POSTGRES_URL}?schema=${schema}`);
    const elsewhere = await openSagaStore(`${TEST_POSTGRES_URL}?schema=${other}`);
    try {
      await store.init();
      await elsewhere.init();
      await store.create({ saga: saga('s-1'), transitions: [] });
      assert.equal((await store.get('s-1'))?.status, 'running');
      assert.equal(await elsewhere.get('s-1'), undefined);
    } finally {
      await store.close();
      await elsewhere.close();
      dropSchema(schema);
      dropSchema(other);
    }
  });

  it('opens a sqlite: path relative to baseDir', async () => {
    const store = await openSagaStore('sqlite:sagas.sqlite', { baseDir: dir });
    try {
      await store.init();
      await store.create({ saga: saga('s-2'), transitions: [] });
      const again = await openSagaStore(`sqlite:${join(dir, 'sagas.sqlite')}`);
      assert.equal((await again.get('s-2'))?.id, 's-2');
      await again.close();
    } finally {
      await store.close();
    }
  });

  it('names the field for an unknown scheme, a bad URL and a bad schema', async () => {
    await assert.rejects(
      openSagaStore('mysql://db/app'),
      configError(/sagas\.store: unsupported scheme "mysql:"; expected one of sqlite:, postgres:/),
    );
    await assert.rejects(
      openSagaStore('postgres://', { field: 'SWITCHYARD_SAGA_STORE' }),
      configError(/SWITCHYARD_SAGA_STORE: /),
    );
    await assert.rejects(
      openSagaStore(`${TEST_POSTGRES_URL}?schema=1-bad`),
      configError(/sagas\.store\.schema: expected letters, digits and _/),
    );
    await assert.rejects(
      openSagaStore(`${TEST_POSTGRES_URL}?schema=`),
      configError(/sagas\.store: \?schema= must not be empty/),
    );
  });
});

describe('openEventBus', () => {
  it('delivers over NATS JetStream in the stream and subject prefix the URL names', async () => {
    const stream = uniqueName('bus').toUpperCase();
    const bus = await openEventBus(`${TEST_NATS_URL}?stream=${stream}&subjectPrefix=${uniqueName('p')}`);
    try {
      assert.deepEqual(await roundTrip(bus, 'order.approved', 'inventory', { orderId: 'o-1' }), { orderId: 'o-1' });
    } finally {
      await bus.close();
      await deleteStream(stream);
    }
  });

  it('delivers over RabbitMQ on the exchange ?exchange= names', async () => {
    // One fixed exchange and group for every run, so runs leave no new queues behind.
    const bus = await openEventBus(`${TEST_AMQP_URL}?exchange=sy-test-backends`);
    try {
      const payload = { orderId: uniqueName('o') };
      assert.deepEqual(await roundTrip(bus, 'order.approved', 'backends-test', payload), payload);
    } finally {
      await bus.close();
    }
  });

  it('fails to connect to a NATS server that is not there with the adapter error', async () => {
    await assert.rejects(
      openEventBus('nats://127.0.0.1:1'),
      (err) => isSwitchyardError(err) && err.code !== 'SY_CONFIG_INVALID',
    );
  });

  it('names the field for an unknown scheme and bad parameters', async () => {
    await assert.rejects(
      openEventBus('kafka://127.0.0.1:9092'),
      configError(/events\.bus: unsupported scheme "kafka:"; expected one of sqlite:, nats:, amqp:, amqps:/),
    );
    await assert.rejects(
      openEventBus(`${TEST_NATS_URL}?stream=no.dots`, { field: 'SWITCHYARD_EVENT_BUS' }),
      configError(/SWITCHYARD_EVENT_BUS\.stream: expected 1 to 64 letters/),
    );
    await assert.rejects(
      openEventBus(`${TEST_AMQP_URL}?exchange=${'x'.repeat(101)}`),
      configError(/events\.bus\.exchange: /),
    );
    await assert.rejects(openEventBus('sqlite:'), configError(/events\.bus: sqlite: needs a file path/));
  });
});
