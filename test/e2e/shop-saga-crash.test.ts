/**
 * The order saga under crashes: 1,000 orders through the gateway of a real `switchyard up`
 * shop while the orders service is SIGKILLed at random moments and `up` restarts it (its restart
 * policy tuned here so the kills never count as a crash loop). Afterwards every
 * saga must have finished (completed or compensated), stock must be conserved, every charge
 * kept must belong to an approved order, no order may be charged twice, and every approved
 * order's `order.approved` event must have left the outbox and been handled once by inventory
 * and by the notifications consumer. All checks read the services' SQLite files.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { openServiceDatabase } from '../../examples/shop/src/database.ts';
import { createInventoryApp, type InventoryItem } from '../../examples/shop/src/inventory/app.ts';
import { alive, eventually, readJsonWhenPresent, root, runCli, type UpProcess } from './helpers.ts';

interface Ready {
  gateway: string;
  registry: string;
  admin: string;
  instances: Array<{ id: string; service: string; pid: number }>;
}

const ORDERS = 1000;
const CONCURRENCY = 24;
/** Orders are spread over this long, so that the kills land all through the load. */
const LOAD_SPREAD_MS = 30_000;
const PAYMENTS_LIMIT = 1000; // switchyard.yaml sets it for payments
/** The orders service's lease: a killed instance's sagas are taken over after it. */
const LEASE = '2s';
/** The kill phase ends when the load is placed and 90% of sagas rest, or after this long. */
const KILL_PHASE_MS = 45_000;
const SETTLE_MS = 40_000;

// Plenty of everything but monitors, so some orders run out of stock and most can be approved.
const seed: InventoryItem[] = [
  { sku: 'SKU-KEYBOARD', name: 'Mechanical keyboard', price: 89.99, stock: 4000 },
  { sku: 'SKU-MOUSE', name: 'Wireless mouse', price: 24.5, stock: 4000 },
  { sku: 'SKU-MONITOR', name: '27-inch monitor', price: 299, stock: 60 },
  { sku: 'SKU-HEADSET', name: 'USB headset', price: 59.9, stock: 4000 },
  { sku: 'SKU-CABLE', name: 'USB-C cable', price: 9.99, stock: 4000 },
];
const priceOf = new Map(seed.map((item) => [item.sku, item.price]));

/** A deterministic mix: ~12% over the payment limit, ~15% asking for monitors (which run out). */
function orderBody(i: number): {
  customer: string;
  items: { sku: string; quantity: number; price: number }[];
  total: number;
} {
  const items: { sku: string; quantity: number; price: number }[] = [];
  if (i % 8 === 3) items.push({ sku: 'SKU-KEYBOARD', quantity: 12, price: priceOf.get('SKU-KEYBOARD') as number });
  else if (i % 7 === 1)
    items.push({ sku: 'SKU-MONITOR', quantity: 1 + (i % 2), price: priceOf.get('SKU-MONITOR') as number });
  else {
    const skus = ['SKU-MOUSE', 'SKU-HEADSET', 'SKU-CABLE', 'SKU-KEYBOARD'];
    items.push({
      sku: skus[i % 4] as string,
      quantity: 1 + (i % 3),
      price: priceOf.get(skus[i % 4] as string) as number,
    });
    if (i % 5 === 0) items.push({ sku: 'SKU-CABLE', quantity: 2, price: priceOf.get('SKU-CABLE') as number });
  }
  const cents = items.reduce((sum, item) => sum + Math.round(item.price * 100) * item.quantity, 0);
  return { customer: `customer-${i % 37}`, items, total: cents / 100 };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);

describe('the order saga survives SIGKILLs of the orders service', { timeout: 150_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-saga-crash-'));
  const dataDir = join(dir, 'data');
  const readyFile = join(dir, 'ready.json');
  const ordersEnv = { ORDERS_SAGA_LEASE: LEASE, ORDERS_SAGA_POLL: '250ms', ORDERS_RESPONSE_WAIT: '0ms' };
  // The shop's config with a restart policy for orders that outlasts the kills; beside the
  // original so its relative commands and data directory resolve the same way.
  const configFile = `${root}examples/shop/.switchyard.crash-test-${process.pid}.yaml`;
  let up: UpProcess;
  let ready: Ready;
  /** Every orders pid seen, to check none outlives the test. */
  const ordersPids: number[] = [];

  before(async () => {
    mkdirSync(dataDir, { recursive: true });
    // Seed the inventory before it starts: it only seeds an empty database.
    const inventoryDb = openServiceDatabase('inventory', dataDir);
    createInventoryApp(inventoryDb, { instanceId: 'seed', seed });
    inventoryDb.close();
    const config = parseDocument(readFileSync(`${root}examples/shop/switchyard.yaml`, 'utf8'));
    config.setIn(['services', 'orders', 'restart'], {
      policy: 'on-failure',
      backoff: { initial: '100ms', max: '500ms' },
      crashLoop: { restarts: 1000, window: '60s' },
    });
    writeFileSync(configFile, config.toString());
    up = runCli(['up', '-c', configFile, '--ready-file', readyFile], {
      SWITCHYARD_GATEWAY_PORT: '0',
      SWITCHYARD_REGISTRY_PORT: '0',
      SHOP_DATA_DIR: dataDir,
      ...ordersEnv,
    });
    ready = await eventually(
      'the shop to report ready',
      () => {
        if (up.child.exitCode !== null) throw new Error(`switchyard up exited early:\n${up.output()}`);
        return readJsonWhenPresent<Ready>(readyFile);
      },
      45_000,
    );
  });

  after(async () => {
    if (up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      const exit = await Promise.race([up.exited, sleep(15_000).then(() => undefined)]);
      if (exit === undefined) {
        up.child.kill('SIGKILL');
        await up.exited;
      }
    }
    // No process is left behind: neither ours nor the supervisor's.
    const pids = [...ordersPids, ...(ready?.instances.map((i) => i.pid) ?? [])];
    await eventually('every shop process to exit', () => pids.every((pid) => !alive(pid)), 10_000);
    rmSync(dir, { recursive: true, force: true });
    rmSync(configFile, { force: true });
  });

  /** The orders-1 instance as the admin API shows it: pid, health and supervisor state. */
  async function ordersInstance(): Promise<{ pid?: number; health?: string; state?: string } | undefined> {
    const res = await fetch(`${ready.admin}/admin/services`);
    const services = (await res.json()) as Array<{
      service: string;
      instances: Array<{ id: string; pid?: number; health?: string; state?: string }>;
    }>;
    return services.find((s) => s.service === 'orders')?.instances.find((i) => i.id === 'orders-1');
  }

  /** SIGKILLs orders-1, then waits until `up` has restarted it and it is passing again; returns the new pid. */
  async function killAndAwaitRestart(pid: number): Promise<number> {
    process.kill(pid, 'SIGKILL');
    await eventually(`pid ${pid} to die`, () => !alive(pid), 5000);
    const restarted = await eventually(
      'switchyard up to restart orders-1',
      async () => {
        const instance = await ordersInstance();
        return instance?.pid !== undefined && instance.pid !== pid && instance.health === 'passing'
          ? instance.pid
          : undefined;
      },
      20_000,
    );
    ordersPids.push(restarted);
    return restarted;
  }

  /** Places order i through the gateway, repeating with the same Idempotency-Key until it is accepted. */
  async function place(i: number, deadline: number): Promise<number> {
    const body = JSON.stringify(orderBody(i));
    let tries = 0;
    for (;;) {
      tries++;
      try {
        const res = await fetch(`${ready.gateway}/api/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `crash-${i}`, prefer: 'respond-async' },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.status === 201 || res.status === 202) return tries;
        // A 4xx other than a gateway refusal is a bug in the test or the service: stop at once.
        if (res.status < 500 && res.status !== 429) throw new Error(`order ${i}: ${res.status} ${text}`);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith(`order ${i}:`)) throw err;
      }
      if (Date.now() > deadline) throw new Error(`order ${i} was not accepted in time (${tries} tries)`);
      await sleep(between(50, 250));
    }
  }

  function sagaCounts(): Record<string, number> {
    const db = new DatabaseSync(join(dataDir, 'orders-sagas.sqlite'), { readOnly: true });
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      const rows = db.prepare('SELECT status, count(*) AS n FROM sy_sagas GROUP BY status').all() as {
        status: string;
        n: number;
      }[];
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    } finally {
      db.close();
    }
  }

  /** What the sagas that have not rested are doing: their last transitions, for the failure message. */
  function unsettled(): string {
    const db = new DatabaseSync(join(dataDir, 'orders-sagas.sqlite'), { readOnly: true });
    try {
      db.exec('PRAGMA busy_timeout = 5000');
      const active = db
        .prepare(
          "SELECT id, status, owner, lease_until FROM sy_sagas WHERE status NOT IN ('completed', 'compensated') LIMIT 5",
        )
        .all() as { id: string; status: string; owner: string | null; lease_until: number | null }[];
      return active
        .map((saga) => {
          const last = db
            .prepare(
              'SELECT kind, step, attempt, error, owner FROM sy_saga_transitions WHERE saga_id = ? ORDER BY seq DESC LIMIT 4',
            )
            .all(saga.id)
            .map((t) => JSON.stringify(t))
            .join('\n      ');
          return `  ${saga.id} ${saga.status} owner=${saga.owner} leaseUntil=${saga.lease_until} now=${Date.now()}\n      ${last}`;
        })
        .join('\n');
    } finally {
      db.close();
    }
  }

  it('ends with every saga completed or compensated and every invariant intact', async () => {
    const started = Date.now();
    const firstOrders = ready.instances.find((i) => i.id === 'orders-1');
    assert.ok(firstOrders, 'switchyard up runs orders-1');

    // The load: ORDERS orders with bounded concurrency, each retried until accepted.
    let next = 0;
    let placed = 0;
    let posts = 0;
    const loadDeadline = started + 80_000;
    const load = Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ORDERS) {
          const i = next++;
          const due = started + (i * LOAD_SPREAD_MS) / ORDERS;
          if (due > Date.now()) await sleep(due - Date.now());
          const tries = await place(i, loadDeadline);
          posts += tries;
          placed++;
        }
      }),
    );
    let loadDone = false;
    const loaded = load.finally(() => {
      loadDone = true;
    });
    loaded.catch(() => {});

    // The killer: SIGKILL the orders instance 0.5-2 s after it started serving, restart it.
    let kills = 0;
    let current = firstOrders.pid;
    ordersPids.push(current);
    const killUntil = started + KILL_PHASE_MS;
    const resting = () => {
      const counts = sagaCounts();
      return (counts.completed ?? 0) + (counts.compensated ?? 0);
    };
    while (Date.now() < killUntil && !(loadDone && resting() >= ORDERS * 0.9)) {
      await sleep(between(500, 2000));
      current = await killAndAwaitRestart(current);
      kills++;
    }
    const killPhaseMs = Date.now() - started;
    await loaded;

    // Settle: every saga rests, the outbox drains, both consumers catch up.
    const orders = new DatabaseSync(join(dataDir, 'orders.sqlite'), { readOnly: true });
    const inventory = new DatabaseSync(join(dataDir, 'inventory.sqlite'), { readOnly: true });
    const payments = new DatabaseSync(join(dataDir, 'payments.sqlite'), { readOnly: true });
    for (const db of [orders, inventory, payments]) db.exec('PRAGMA busy_timeout = 5000');
    const count = (db: DatabaseSync, sql: string, ...args: string[]) =>
      (db.prepare(sql).get(...args) as { n: number }).n;
    try {
      await eventually(
        'every saga to rest and every order.approved to be handled',
        () => {
          const counts = sagaCounts();
          const done = (counts.completed ?? 0) + (counts.compensated ?? 0);
          if (done !== ORDERS) return false;
          const approved = count(orders, "SELECT count(*) AS n FROM orders WHERE status = 'approved'");
          return (
            count(orders, 'SELECT count(*) AS n FROM sy_outbox WHERE sent_at IS NULL') === 0 &&
            count(inventory, "SELECT count(*) AS n FROM sy_inbox WHERE consumer_group = 'inventory'") === approved &&
            count(payments, 'SELECT count(*) AS n FROM notifications') === approved
          );
        },
        SETTLE_MS,
      ).catch((err: unknown) => {
        const reasons = orders
          .prepare(
            "SELECT json_extract(reason, '$.code') AS code, count(*) AS n FROM orders WHERE status = 'rejected' GROUP BY code",
          )
          .all();
        throw new Error(
          `${(err as Error).message}; sagas by status: ${JSON.stringify(sagaCounts())}; rejections: ${JSON.stringify(reasons)}\n${unsettled()}`,
        );
      });
      const durationMs = Date.now() - started;

      const problems: string[] = [];
      const expect = (ok: boolean, what: string) => {
        if (!ok) problems.push(what);
      };

      // 1. Every saga completed or compensated; one order row per saga, its status matching.
      const sagas = sagaCounts();
      expect(
        Object.keys(sagas).every((s) => s === 'completed' || s === 'compensated'),
        `sagas not all final: ${JSON.stringify(sagas)}`,
      );
      const orderRows = orders.prepare('SELECT id, status, reason, total FROM orders').all() as {
        id: string;
        status: string;
        reason: string | null;
        total: number;
      }[];
      const statusOf = new Map(orderRows.map((o) => [o.id, o.status]));
      const approvedIds = orderRows.filter((o) => o.status === 'approved').map((o) => o.id);
      const byStatus = (status: string) => orderRows.filter((o) => o.status === status).length;
      expect(orderRows.length === ORDERS, `orders rows: ${orderRows.length}, expected ${ORDERS}`);
      expect(
        byStatus('approved') === (sagas.completed ?? 0) && byStatus('rejected') === (sagas.compensated ?? 0),
        `order statuses (approved ${byStatus('approved')}, rejected ${byStatus('rejected')}, pending ${byStatus('pending')}) do not match sagas ${JSON.stringify(sagas)}`,
      );

      // 2. Stock + reservations conserved per SKU; nothing left merely reserved; commits = approved orders.
      const stock = new Map(
        (inventory.prepare('SELECT sku, stock FROM items').all() as { sku: string; stock: number }[]).map((r) => [
          r.sku,
          r.stock,
        ]),
      );
      const reservations = inventory.prepare('SELECT order_id, items, status FROM reservations').all() as {
        order_id: string;
        items: string;
        status: string;
      }[];
      const held = new Map<string, number>();
      for (const r of reservations) {
        if (r.status === 'released') continue;
        for (const line of JSON.parse(r.items) as { sku: string; quantity: number }[]) {
          held.set(line.sku, (held.get(line.sku) ?? 0) + line.quantity);
        }
      }
      for (const item of seed) {
        const total = (stock.get(item.sku) ?? 0) + (held.get(item.sku) ?? 0);
        expect(
          total === item.stock,
          `${item.sku}: stock ${stock.get(item.sku)} + held ${held.get(item.sku) ?? 0} = ${total}, expected ${item.stock}`,
        );
      }
      const stillReserved = reservations.filter((r) => r.status === 'reserved');
      expect(stillReserved.length === 0, `${stillReserved.length} reservations neither committed nor released`);
      const committed = reservations.filter((r) => r.status === 'committed');
      const committedPerOrder = new Map<string, number>();
      for (const r of committed) committedPerOrder.set(r.order_id, (committedPerOrder.get(r.order_id) ?? 0) + 1);
      expect(
        committed.every((r) => statusOf.get(r.order_id) === 'approved'),
        `committed reservations of orders not approved: ${committed.filter((r) => statusOf.get(r.order_id) !== 'approved').length}`,
      );
      expect(
        approvedIds.every((id) => committedPerOrder.get(id) === 1),
        `approved orders without exactly one committed reservation: ${approvedIds.filter((id) => committedPerOrder.get(id) !== 1).length}`,
      );
      const reservationsPerOrder = new Map<string, number>();
      for (const r of reservations)
        reservationsPerOrder.set(r.order_id, (reservationsPerOrder.get(r.order_id) ?? 0) + 1);
      const doubleReserved = [...reservationsPerOrder.values()].filter((n) => n > 1).length;
      expect(doubleReserved === 0, `${doubleReserved} orders reserved more than once`);

      // 3. Every charge kept belongs to an approved order; every approved order is charged once; none twice.
      const paymentRows = payments.prepare('SELECT order_id, status, amount FROM payments').all() as {
        order_id: string;
        status: string;
        amount: number;
      }[];
      const captured = paymentRows.filter((p) => p.status === 'captured');
      const strayCharges = captured.filter((p) => statusOf.get(p.order_id) !== 'approved');
      expect(strayCharges.length === 0, `${strayCharges.length} captured payments of orders not approved`);
      const chargesPerOrder = new Map<string, number>();
      for (const p of paymentRows) {
        if (p.status === 'declined') continue;
        chargesPerOrder.set(p.order_id, (chargesPerOrder.get(p.order_id) ?? 0) + 1);
      }
      const chargedTwice = [...chargesPerOrder.values()].filter((n) => n > 1).length;
      expect(chargedTwice === 0, `${chargedTwice} orders charged more than once`);
      const capturedPerOrder = new Map(captured.map((p) => [p.order_id, p]));
      expect(
        approvedIds.every((id) => capturedPerOrder.has(id)),
        `approved orders without a captured payment: ${approvedIds.filter((id) => !capturedPerOrder.has(id)).length}`,
      );
      const refunded = paymentRows.filter((p) => p.status === 'refunded').length;
      const sagaDb = new DatabaseSync(join(dataDir, 'orders-sagas.sqlite'), { readOnly: true });
      // Sagas whose history was written by more than one orders process: resumed after a kill.
      const resumed = (
        sagaDb
          .prepare(
            'SELECT count(*) AS n FROM (SELECT saga_id FROM sy_saga_transitions GROUP BY saga_id HAVING count(DISTINCT owner) > 1)',
          )
          .get() as { n: number }
      ).n;
      sagaDb.close();

      // 4. No outbox event lost: one order.approved per approved order, all sent, each handled once by each group.
      const outbox = orders.prepare('SELECT id, payload, sent_at FROM sy_outbox').all() as {
        id: string;
        payload: string;
        sent_at: number | null;
      }[];
      const outboxOrders = new Set(outbox.map((e) => (JSON.parse(e.payload) as { orderId: string }).orderId));
      expect(
        outbox.length === approvedIds.length,
        `outbox rows ${outbox.length}, approved orders ${approvedIds.length}`,
      );
      expect(
        approvedIds.every((id) => outboxOrders.has(id)),
        `approved orders without an order.approved event: ${approvedIds.filter((id) => !outboxOrders.has(id)).length}`,
      );
      expect(
        outbox.every((e) => e.sent_at !== null),
        `${outbox.filter((e) => e.sent_at === null).length} outbox events unsent`,
      );
      const handled = (db: DatabaseSync, group: string) =>
        new Set(
          (
            db.prepare('SELECT message_id FROM sy_inbox WHERE consumer_group = ?').all(group) as {
              message_id: string;
            }[]
          ).map((r) => r.message_id),
        );
      const inventoryHandled = handled(inventory, 'inventory');
      const notificationsHandled = handled(payments, 'notifications');
      expect(
        outbox.every((e) => inventoryHandled.has(e.id)) && inventoryHandled.size === outbox.length,
        `inventory handled ${inventoryHandled.size} order.approved events, the outbox holds ${outbox.length}`,
      );
      expect(
        outbox.every((e) => notificationsHandled.has(e.id)) && notificationsHandled.size === outbox.length,
        `notifications handled ${notificationsHandled.size} events, the outbox holds ${outbox.length}`,
      );
      const notificationRows = count(payments, 'SELECT count(*) AS n FROM notifications');
      expect(
        notificationRows === approvedIds.length,
        `notifications ${notificationRows}, approved orders ${approvedIds.length}`,
      );

      // The mix must have exercised every path.
      const reasons = new Map<string, number>();
      for (const o of orderRows) {
        if (o.status !== 'rejected') continue;
        const code = o.reason === null ? 'none' : (JSON.parse(o.reason) as { code: string }).code;
        reasons.set(code, (reasons.get(code) ?? 0) + 1);
      }
      const overLimit = orderRows.filter((o) => o.total > PAYMENTS_LIMIT).length;
      expect(
        reasons.get('SY_SHOP_PAYMENT_DECLINED') === overLimit,
        `declined ${reasons.get('SY_SHOP_PAYMENT_DECLINED') ?? 0}, orders over the limit ${overLimit}`,
      );
      expect((reasons.get('SY_SHOP_INSUFFICIENT_STOCK') ?? 0) > 0, 'no order ran out of stock');
      expect(approvedIds.length > ORDERS / 2, `only ${approvedIds.length} orders approved`);
      expect(kills >= 5, `only ${kills} kills`);
      expect(resumed > 0, 'no saga was resumed by another orders process: the kills missed every saga');

      const summary = {
        orders: ORDERS,
        posts,
        kills,
        killPhaseMs,
        durationMs,
        sagas,
        approved: approvedIds.length,
        rejected: Object.fromEntries(reasons),
        refunded,
        resumed,
        placed,
      };
      console.log(`shop saga crash test: ${JSON.stringify(summary)}`);
      assert.deepEqual(problems, [], `invariants broken (${JSON.stringify(summary)}):\n  ${problems.join('\n  ')}`);
    } finally {
      for (const db of [orders, inventory, payments]) db.close();
    }
  });
});
