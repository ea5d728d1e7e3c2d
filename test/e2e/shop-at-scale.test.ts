/**
 * The shop at scale: `switchyard up -c examples/shop/switchyard.at-scale.yaml` against the real
 * servers on this host: etcd (registry), PostgreSQL (saga store), NATS JetStream (event bus) and
 * Redis (the gateway's rate limit). One order through the gateway, then each server is read
 * directly to see that it, and not an embedded default, did the work. Every name (etcd prefix,
 * PostgreSQL schema, NATS stream and subjects, Redis keys) is this run's own.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createEtcdRegistry } from '@switchyard/adapter-etcd';
import { createPostgresSagaStore } from '@switchyard/adapter-postgres';
import type { ServiceInstance } from '@switchyard/core';
import { Redis } from 'ioredis';
import pg from 'pg';
import { alive, eventually, readJsonWhenPresent, root, runCli, type UpProcess } from './helpers.ts';

const ETCD_ADDR = process.env.SWITCHYARD_TEST_ETCD_ADDR ?? '127.0.0.1:23790';
const PG_ADDR = '127.0.0.1:5432';
const PG_DATABASE = 'test';
const PG_URL = `postgres://postgres@${PG_ADDR}/${PG_DATABASE}`;
const NATS_ADDR = '127.0.0.1:4222';
const REDIS_ADDR = '127.0.0.1:6379';

interface Ready {
  gateway: string;
  registry: string;
  instances: { id: string; pid: number }[];
}

interface OrderView {
  id: string;
  status: string;
  saga: { status: string };
}

describe('the shop at scale: etcd, PostgreSQL, NATS and Redis', { timeout: 120_000 }, () => {
  const run = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const names = {
    etcdPrefix: `/sy-e2e/${run}/services/`,
    pgSchema: `sy_e2e_${run}`,
    natsStream: `SYE2E_${run}`,
    natsSubjectPrefix: `sye2e.${run}`,
    redisPrefix: `sy-e2e:${run}:rl:`,
  };
  const rateLimit = 4;
  const dir = mkdtempSync(join(tmpdir(), 'sy-at-scale-e2e-'));
  const dataDir = join(dir, 'data');
  const readyFile = join(dir, 'ready.json');
  let up: UpProcess;
  let ready: Ready;

  before(async () => {
    up = runCli(['up', '-c', `${root}examples/shop/switchyard.at-scale.yaml`, '--ready-file', readyFile], {
      SWITCHYARD_GATEWAY_PORT: '0',
      SHOP_DATA_DIR: dataDir,
      SHOP_ETCD_ADDR: ETCD_ADDR,
      SHOP_ETCD_PREFIX: names.etcdPrefix,
      SHOP_PG_ADDR: PG_ADDR,
      SHOP_PG_DATABASE: PG_DATABASE,
      SHOP_PG_SCHEMA: names.pgSchema,
      SHOP_NATS_ADDR: NATS_ADDR,
      SHOP_NATS_STREAM: names.natsStream,
      SHOP_NATS_SUBJECT_PREFIX: names.natsSubjectPrefix,
      SHOP_REDIS_ADDR: REDIS_ADDR,
      SHOP_RATE_LIMIT_PREFIX: names.redisPrefix,
      SHOP_ORDERS_RATE_LIMIT: String(rateLimit),
    });
    ready = await eventually(
      'the shop to report ready',
      () => {
        if (up.child.exitCode !== null) throw new Error(`switchyard up exited early:\n${up.output()}`);
        return readJsonWhenPresent<Ready>(readyFile);
      },
      60_000,
    );
  });

  after(async () => {
    try {
      if (up.child.exitCode === null) {
        up.child.kill('SIGTERM');
        const exit = await up.exited;
        assert.deepEqual(exit, { code: 0, signal: null }, up.output());
      }
      for (const instance of ready?.instances ?? [])
        assert.equal(alive(instance.pid), false, `${instance.id} left behind`);
      // Each instance closed its registry on the way out: its lease is revoked, its keys gone.
      const etcd = createEtcdRegistry({ endpoints: [`http://${ETCD_ADDR}`], prefix: names.etcdPrefix });
      try {
        assert.deepEqual(await firstList(etcd, 'inventory'), []);
      } finally {
        await etcd.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await cleanUp();
    }
  });

  async function cleanUp(): Promise<void> {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${names.pgSchema}" CASCADE`).finally(() => client.end());
    const nc = await connect({ servers: `nats://${NATS_ADDR}`, timeout: 3000, reconnect: false });
    try {
      await (await jetstreamManager(nc)).streams.delete(names.natsStream).catch(() => false);
    } finally {
      await nc.close();
    }
    const redis = new Redis(`redis://${REDIS_ADDR}`, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      const keys = await redis.keys(`${names.redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  }

  const api = async <T>(
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; headers: Headers; body: T }> => {
    const res = await fetch(`${ready.gateway}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as T };
  };

  it('passes instances an etcd:// registry and runs no registry server', () => {
    assert.equal(ready.registry, `etcd://${ETCD_ADDR}${names.etcdPrefix}?leaseTtl=10s`);
    assert.ok(up.output().includes(`registry etcd http://${ETCD_ADDR}`), up.output());
    assert.ok(!up.output().includes('Consul-compatible'), 'no embedded registry server');
  });

  it('registers every instance in etcd, under this run prefix', async () => {
    const etcd = createEtcdRegistry({ endpoints: [`http://${ETCD_ADDR}`], prefix: names.etcdPrefix });
    try {
      const listed: Record<string, string[]> = {};
      for (const service of ['orders', 'inventory', 'payments']) {
        const instances = await firstList(etcd, service);
        listed[service] = instances.map((i) => i.id).sort();
      }
      assert.deepEqual(listed, {
        orders: ['orders-1'],
        inventory: ['inventory-1', 'inventory-2'],
        payments: ['payments-1'],
      });
    } finally {
      await etcd.close();
    }
  });

  it('completes an order saga kept in PostgreSQL; order.approved reaches inventory and payments over NATS', async () => {
    const placed = await api<OrderView>('/api/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `at-scale-${run}` },
      body: JSON.stringify({ customer: 'ada', items: [{ sku: 'SKU-MOUSE', quantity: 1, price: 24.5 }], total: 24.5 }),
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.equal(placed.body.status, 'approved');

    const store = createPostgresSagaStore({ url: PG_URL, schema: names.pgSchema, poolSize: 1 });
    try {
      const saga = await store.get(placed.body.id);
      assert.equal(saga?.status, 'completed');
      assert.equal(saga?.name, 'shop.order');
    } finally {
      await store.close();
    }

    await eventually('inventory to commit the reservation', async () => {
      const { body } = await api<{ reservations: { status: string }[] }>(
        `/api/inventory/reservations?orderId=${placed.body.id}`,
      );
      return body.reservations[0]?.status === 'committed';
    });
    await eventually('payments to record the receipt', async () => {
      const { body } = await api<{ notifications: { sagaId: string }[] }>(
        `/api/payments/notifications?orderId=${placed.body.id}`,
      );
      return body.notifications[0]?.sagaId === placed.body.id;
    });

    // The event went through this run's JetStream stream, and no SQLite bus was opened.
    const nc = await connect({ servers: `nats://${NATS_ADDR}`, timeout: 3000, reconnect: false });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(names.natsStream, { subjects_filter: '>' });
      assert.equal(info.state.subjects?.[`${names.natsSubjectPrefix}.order.approved`], 1);
      const consumers = (await jsm.consumers.list(names.natsStream).next()).map((c) => c.config.durable_name);
      assert.equal(consumers.length, 2, `one consumer per group, got ${consumers.join(', ')}`);
    } finally {
      await nc.close();
    }
    assert.equal(existsSync(join(dataDir, 'bus.sqlite')), false, 'no SQLite bus');
    assert.equal(existsSync(join(dataDir, 'orders-sagas.sqlite')), false, 'no SQLite saga store');
  });

  it('answers 429 from the Redis rate limiter once the quota of /api/orders is spent', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < rateLimit + 2 && limited === undefined; i++) {
      const res = await fetch(`${ready.gateway}/api/orders/unknown-order`, { signal: AbortSignal.timeout(15_000) });
      await res.arrayBuffer();
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, `no 429 within ${rateLimit + 2} requests: ${statuses.join(', ')}`);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    const redis = new Redis(`redis://${REDIS_ADDR}`, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      assert.ok((await redis.keys(`${names.redisPrefix}*`)).length > 0, 'the quota lives in Redis');
    } finally {
      redis.disconnect();
    }
  });
});

/** The first instance list etcd gives for `service`, within 5 s. */
function firstList(
  source: ReturnType<typeof createEtcdRegistry>,
  service: string,
): Promise<readonly ServiceInstance[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`etcd gave no list of ${service} within 5 s`));
    }, 5000);
    const sub = source.watch(service, {
      next: (instances) => {
        clearTimeout(timer);
        queueMicrotask(() => sub.dispose());
        resolve(instances);
      },
      error: (err) => {
        clearTimeout(timer);
        queueMicrotask(() => sub.dispose());
        reject(err);
      },
    });
  });
}
