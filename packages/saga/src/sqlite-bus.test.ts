import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import type { Delivery } from './bus.ts';
import { createSqliteEventBus } from './sqlite-bus.ts';
import { eventBusContract } from './testing/bus-contract.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A log path in a fresh temporary directory, removed after the file's tests. */
function freshPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bus-'));
  dirs.push(dir);
  return join(dir, 'bus.db');
}

eventBusContract('sqlite', async () => {
  const path = freshPath();
  const bus = createSqliteEventBus({ path, pollInterval: '20ms' });
  return {
    bus,
    topicPrefix: `t${Math.random().toString(36).slice(2, 8)}`,
    second: async () => createSqliteEventBus({ path, pollInterval: '20ms' }),
    cleanup: () => bus.close(),
  };
});

async function waitUntil(condition: () => boolean, what: string, deadlineMs = 5_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) assert.fail(`timed out after ${deadlineMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const moduleUrl = new URL('./sqlite-bus.ts', import.meta.url).href;

/** Starts `node -e script` with the bus module's URL and the log path in its environment; collects stdout. */
function child(script: string, path: string): { process: ChildProcess; output: () => string } {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, SY_BUS_MODULE: moduleUrl, SY_BUS_PATH: path },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return { process: proc, output: () => out };
}

describe('createSqliteEventBus', () => {
  it('delivers what another process publishes to the same file', async () => {
    const path = freshPath();
    const bus = createSqliteEventBus({ path, pollInterval: '20ms' });
    const got: Delivery[] = [];
    await bus.subscribe('orders.created', async (d) => void got.push(d), { group: 'billing' });
    const publisher = child(
      `const { createSqliteEventBus } = await import(process.env.SY_BUS_MODULE);
       const bus = createSqliteEventBus({ path: process.env.SY_BUS_PATH });
       for (let i = 0; i < 20; i++) await bus.publish('orders.created', { i }, { id: 'child-' + i, headers: { from: 'child' } });
       await bus.close();`,
      path,
    );
    const [code] = (await once(publisher.process, 'exit')) as [number | null];
    assert.equal(code, 0, publisher.output());
    await waitUntil(() => got.length >= 20, '20 messages from the child');
    assert.deepEqual(
      got.map((d) => d.id),
      Array.from({ length: 20 }, (_, i) => `child-${i}`),
    );
    assert.ok(got.every((d) => d.headers.from === 'child' && d.attempt === 1));
    await bus.close();
  });

  it('a consumer process SIGKILLed mid-handler loses the message to another member when its lease ends', async () => {
    const path = freshPath();
    const bus = createSqliteEventBus({ path, pollInterval: '20ms', leaseMargin: '200ms' });
    const consumer = child(
      `const { createSqliteEventBus } = await import(process.env.SY_BUS_MODULE);
       const bus = createSqliteEventBus({ path: process.env.SY_BUS_PATH, pollInterval: '20ms', leaseMargin: '200ms' });
       await bus.subscribe('jobs.run', async (d) => {
         process.stdout.write('started ' + d.id + ' ' + d.attempt + '\\n');
         await new Promise(() => {});
       }, { group: 'workers', ackTimeout: '400ms', maxDeliveries: 3 });
       process.stdout.write('ready\\n');
       setInterval(() => {}, 1000);`,
      path,
    );
    try {
      await waitUntil(() => consumer.output().includes('ready'), 'the consumer child to subscribe');
      const id = await bus.publish('jobs.run', { job: 1 });
      await waitUntil(() => consumer.output().includes(`started ${id} 1`), 'the child to start the handler');
      const startedAt = Date.now();
      consumer.process.kill('SIGKILL');
      await once(consumer.process, 'exit');
      const got: Delivery[] = [];
      await bus.subscribe('jobs.run', async (d) => void got.push(d), { group: 'workers', ackTimeout: '400ms' });
      await waitUntil(() => got.length >= 1, 'the redelivery to the surviving member');
      const waited = Date.now() - startedAt;
      assert.equal(got[0]?.id, id);
      assert.equal(got[0]?.attempt, 2);
      // The lease is ackTimeout + leaseMargin = 600ms from the claim, which came before "started".
      assert.ok(waited >= 450, `redelivered only after the lease ended (after ${waited}ms)`);
    } finally {
      consumer.process.kill('SIGKILL');
      await bus.close();
    }
  });

  it('dead-letters a message whose lease ran out on its last delivery instead of delivering it again', async () => {
    const path = freshPath();
    const clock = new ManualClock(5_000);
    const bus = createSqliteEventBus({ path, clock });
    await (await bus.subscribe('pay.charge', async () => {}, { group: 'charger' })).close();
    const id = await bus.publish('pay.charge', { amount: 5 });
    // A member of another process claimed it for its one and only delivery, then died.
    const db = new DatabaseSync(path);
    db.prepare("UPDATE sy_bus_deliveries SET attempts = 1, lease_owner = 'dead', available_at = 6000").run();
    db.close();
    const dead: Delivery[] = [];
    const handled: Delivery[] = [];
    await bus.subscribe('dead-letter.pay.charge', async (d) => void dead.push(d), { group: 'ops' });
    await bus.subscribe('pay.charge', async (d) => void handled.push(d), { group: 'charger', maxDeliveries: 1 });
    await flush();
    assert.equal(dead.length + handled.length, 0, 'held by the lease');
    clock.advance(1_000);
    await waitUntil(() => dead.length === 1, 'the dead-letter');
    assert.equal(handled.length, 0);
    assert.equal(dead[0]?.id, id);
    assert.equal(dead[0]?.headers['sy-deliveries'], '1');
    assert.equal(dead[0]?.headers['sy-dead-letter-group'], 'charger');
    assert.match(dead[0]?.headers['sy-dead-letter-error'] ?? '', /^SY_BUS_ACK_TIMEOUT: .*lease ended/);
    await bus.close();
  });

  it('reopening the file keeps undelivered messages, groups and attempt counts', async () => {
    const path = freshPath();
    const clock = new ManualClock(1_000);
    const first = createSqliteEventBus({ path, clock });
    const attempts: number[] = [];
    const sub = await first.subscribe(
      'stock.changed',
      async (d) => {
        attempts.push(d.attempt);
        throw new Error('not yet');
      },
      { group: 'sync', backoff: { initial: 10, max: 10, factor: 1, jitter: 'none' } },
    );
    await first.publish('stock.changed', { sku: 'a' }, { id: 'failed-once' });
    await waitUntil(() => attempts.length === 1, 'the first delivery');
    await sub.close();
    await first.publish('stock.changed', { sku: 'b' }, { id: 'never-delivered' });
    await first.close();

    clock.advance(10);
    const reopened = createSqliteEventBus({ path, clock });
    const got: Delivery[] = [];
    await reopened.subscribe('stock.changed', async (d) => void got.push(d), { group: 'sync' });
    await waitUntil(() => got.length >= 2, 'both messages after reopening');
    assert.deepEqual(
      got.map((d) => [d.id, d.attempt]),
      [
        ['failed-once', 2],
        ['never-delivered', 1],
      ],
    );
    await reopened.close();
  });

  it('prunes messages every group acknowledged once older than retention, and keeps owed ones', async () => {
    const path = freshPath();
    const clock = new ManualClock(1_000_000);
    const bus = createSqliteEventBus({ path, clock, retention: '1h', pruneInterval: '1m' });
    let handled = 0;
    const sub = await bus.subscribe('audit.entry', async () => void handled++, { group: 'reader' });
    await bus.publish('audit.entry', 1, { id: 'acked' });
    await waitUntil(() => handled === 1, 'the delivery');
    await flush();
    await sub.close();
    await bus.publish('audit.entry', 2, { id: 'owed' });
    await bus.publish('nobody.listens', 3, { id: 'no-group' });
    const ids = () => {
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        return (db.prepare('SELECT id FROM sy_bus_log ORDER BY seq').all() as { id: string }[]).map((r) => r.id);
      } finally {
        db.close();
      }
    };
    clock.advance(59 * 60_000);
    assert.deepEqual(ids(), ['acked', 'owed', 'no-group'], 'nothing is older than retention yet');
    clock.advance(2 * 60_000);
    assert.deepEqual(ids(), ['owed'], 'the acknowledged and the unowed message are pruned');
    await bus.close();
  });

  it('opens the file in WAL mode and records its migrations', async () => {
    const path = freshPath();
    await createSqliteEventBus({ path }).close();
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
      assert.deepEqual(
        (db.prepare('SELECT version FROM sy_bus_migrations').all() as { version: number }[]).map((r) => r.version),
        [1],
      );
    } finally {
      db.close();
    }
  });

  it('refuses a log migrated by a newer version, and a file it cannot open, with SY_BUS_UNAVAILABLE', async () => {
    const path = freshPath();
    await createSqliteEventBus({ path }).close();
    const db = new DatabaseSync(path);
    db.prepare('INSERT INTO sy_bus_migrations (version, applied_at) VALUES (99, 0)').run();
    db.close();
    assert.throws(
      () => createSqliteEventBus({ path }),
      (err) => isSwitchyardError(err, 'SY_BUS_UNAVAILABLE') && /schema version 99/.test(err.message) && !err.retryable,
    );
    assert.throws(
      () => createSqliteEventBus({ path: join(path, 'no-such-dir', 'bus.db') }),
      (err) => isSwitchyardError(err, 'SY_BUS_UNAVAILABLE') && err.message.includes('no-such-dir'),
    );
  });

  it('rejects bad options with SY_CONFIG_INVALID naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'sqliteBus.path'],
      [{ path: 'x.db', pollInterval: 'often' }, 'sqliteBus.pollInterval'],
      [{ path: 'x.db', pollInterval: 0 }, 'sqliteBus.pollInterval'],
      [{ path: 'x.db', synchronous: 'off' }, 'sqliteBus.synchronous'],
      [{ path: 'x.db', retension: '1h' }, 'retention'],
    ];
    for (const [options, field] of cases) {
      assert.throws(
        () => createSqliteEventBus(options as never),
        (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes(field),
        JSON.stringify(options),
      );
    }
  });
});
