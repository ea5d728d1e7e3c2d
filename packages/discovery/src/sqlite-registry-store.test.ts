import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { createRegistry } from './registry.ts';
import type { RegistryStore } from './registry-store.ts';
import { createSqliteRegistryStore } from './sqlite-registry-store.ts';
import type { CheckProbe, CheckResult, CheckRunner } from './types.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-registry-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
const newFile = () => join(dir, `registry-${++fileCount}.db`);

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function open(dataFile: string) {
  const clock = new ManualClock(0);
  const probes: { probe: CheckProbe; settle: (result: CheckResult) => void }[] = [];
  const runner: CheckRunner = (probe) => new Promise((settle) => probes.push({ probe, settle }));
  const registry = createRegistry({ clock, checkRunner: runner, dataFile });
  return { clock, registry, probes };
}

function isStoreFailure(file: string, ...fragments: string[]) {
  return (err: unknown) => {
    assert.ok(isSwitchyardError(err, 'SY_DISCOVERY_STORE_FAILED'), String(err));
    assert.ok(err.message.includes(file), `${err.message} names the file`);
    for (const fragment of fragments) assert.ok(err.message.includes(fragment), `${err.message} lacks ${fragment}`);
    return true;
  };
}

describe('registrations survive a restart', () => {
  test('services, their checks, standalone and node checks come back; checks run again', async () => {
    const file = newFile();
    const first = open(file);
    first.registry.register({
      Name: 'orders',
      ID: 'orders-1',
      Tags: ['v1'],
      Meta: { version: '2' },
      Address: '10.0.0.1',
      Port: 8080,
      Weights: { Passing: 3 },
      Checks: [
        { CheckID: 'ttl', TTL: '30s' },
        { CheckID: 'http', HTTP: 'http://10.0.0.1:8080/health', Interval: '10s', Timeout: '1s' },
        { CheckID: 'tcp', TCP: '10.0.0.1:8080', Interval: '5s', DeregisterCriticalServiceAfter: '1m' },
      ],
    });
    first.registry.registerCheck({ Name: 'disk', ServiceID: 'orders-1', TTL: '1m', Status: 'passing' });
    first.registry.registerCheck({ Name: 'node-maint', TTL: '1h', Status: 'passing' });
    first.registry.register({ Name: 'gone', Check: { TTL: '1s' } });
    first.registry.deregister('gone');
    first.registry.updateTtl('ttl', 'warning', 'slow disk');
    for (const { settle } of first.probes) settle({ status: 'passing', output: 'ok' });
    await flush();
    const before = first.registry.service('orders-1');
    await first.registry.close();

    const second = open(file);
    const { registry, clock, probes } = second;
    assert.deepEqual(
      registry.services().map((s) => s.ID),
      ['orders-1'],
    );
    const service = registry.service('orders-1');
    assert.deepEqual({ ...service, CreateIndex: 0, ModifyIndex: 0 }, { ...before, CreateIndex: 0, ModifyIndex: 0 });
    assert.deepEqual(
      registry.checks().map((c) => [c.CheckID, c.Status, c.Output]),
      [
        ['disk', 'passing', ''],
        ['http', 'critical', ''],
        ['node-maint', 'passing', ''],
        ['tcp', 'critical', ''],
        ['ttl', 'warning', 'slow disk'],
      ],
      'TTL checks resume their last status; HTTP and TCP start critical, as in Consul',
    );
    assert.deepEqual(
      probes.map((p) => p.probe.target),
      ['http://10.0.0.1:8080/health', '10.0.0.1:8080'],
      'HTTP and TCP checks probe at once',
    );
    assert.equal(registry.check('http')?.Definition.Timeout, '1s');
    clock.advance(30_000);
    assert.equal(registry.check('ttl')?.Status, 'critical', 'the TTL runs again from the restart');
    assert.equal(registry.check('ttl')?.Output, 'TTL expired');
    await registry.close();

    const third = open(file);
    assert.equal(third.registry.check('ttl')?.Status, 'critical', 'an expiry is stored too');
    third.registry.deregisterCheck('disk');
    third.registry.register({ Name: 'orders', ID: 'orders-1', Port: 9000 });
    await third.registry.close();

    const fourth = open(file);
    assert.equal(fourth.registry.service('orders-1')?.Port, 9000);
    assert.deepEqual(
      fourth.registry.checks().map((c) => c.CheckID),
      ['node-maint'],
      're-registering replaced the instance and its checks',
    );
    await fourth.registry.close();
  });

  test('the index keeps growing across restarts, so old blocking queries are not left waiting', async () => {
    const file = newFile();
    const first = open(file);
    for (let i = 0; i < 50; i++) first.registry.register({ Name: `s${i % 3}`, ID: `i${i}` });
    const before = first.registry.index;
    const serviceBefore = first.registry.serviceIndex('s0');
    await first.registry.close();
    const second = open(file);
    assert.ok(second.registry.index > before, `${second.registry.index} > ${before}`);
    assert.ok(second.registry.serviceIndex('s0') > serviceBefore);
    const afterRestart = second.registry.index;
    await second.registry.close();
    const third = open(file);
    assert.ok(third.registry.index > afterRestart, 'also after a restart without changes');
    await third.registry.close();
  });

  test('an instance deregistered by DeregisterCriticalServiceAfter stays gone', async () => {
    const file = newFile();
    const first = open(file);
    first.registry.register({ Name: 'a', Check: { TTL: '1s', DeregisterCriticalServiceAfter: '2s' } });
    first.clock.advance(2000);
    assert.equal(first.registry.service('a'), undefined);
    await first.registry.close();
    const second = open(file);
    assert.deepEqual(second.registry.services(), []);
    await second.registry.close();
  });
});

describe('damaged, unreadable and failing stores', () => {
  test('a file that is not a database fails, naming the file', () => {
    const file = newFile();
    writeFileSync(file, 'this is not a sqlite database, just some text '.repeat(100));
    assert.throws(() => createRegistry({ dataFile: file }), isStoreFailure(file, 'could not open'));
  });

  test('a path that cannot be opened fails, naming it', () => {
    const file = join(dir, 'missing-dir', 'registry.db');
    assert.throws(() => createRegistry({ dataFile: file }), isStoreFailure(file));
  });

  test('a stored row that is not JSON, or no longer validates, fails instead of being dropped', async () => {
    const file = newFile();
    const { registry } = open(file);
    registry.register({ Name: 'a', Port: 80 });
    registry.register({ Name: 'b', Port: 81 });
    await registry.close();
    const db = new DatabaseSync(file);
    db.prepare("UPDATE services SET registration = '{not json' WHERE id = 'a'").run();
    db.close();
    assert.throws(() => createRegistry({ dataFile: file }), isStoreFailure(file, 'service a is not valid JSON'));

    const db2 = new DatabaseSync(file);
    db2.prepare(`UPDATE services SET registration = '{"ID":"a","Name":"a","Port":70000}' WHERE id = 'a'`).run();
    db2.close();
    assert.throws(() => createRegistry({ dataFile: file }), isStoreFailure(file, 'service "a"', 'Port'));
  });

  test('a file from a newer schema is refused', () => {
    const file = newFile();
    const db = new DatabaseSync(file);
    db.exec('PRAGMA user_version = 99');
    db.close();
    assert.throws(() => createRegistry({ dataFile: file }), isStoreFailure(file, 'schema version 99'));
  });

  test('a failed write changes neither the stored nor the served state', async () => {
    const file = newFile();
    const { registry } = open(file);
    registry.register({ Name: 'orders', ID: 'orders-1', Port: 80, Check: { CheckID: 'c1', TTL: '10s' } });
    // Make the second statement of the next registration's transaction fail.
    const db = new DatabaseSync(file);
    db.exec(
      "CREATE TRIGGER fail_checks BEFORE INSERT ON checks WHEN NEW.check_id = 'boom' BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    db.close();
    const index = registry.index;
    assert.throws(
      () => registry.register({ Name: 'orders', ID: 'orders-1', Port: 81, Check: { CheckID: 'boom', TTL: '1s' } }),
      isStoreFailure(file, 'disk full'),
    );
    assert.equal(registry.index, index, 'no change was published');
    assert.equal(registry.service('orders-1')?.Port, 80);
    assert.deepEqual(
      registry.checks().map((c) => c.CheckID),
      ['c1'],
    );
    await registry.close();
    const again = open(file);
    assert.equal(again.registry.service('orders-1')?.Port, 80, 'the transaction rolled back');
    assert.deepEqual(
      again.registry.checks().map((c) => c.CheckID),
      ['c1'],
    );
    await again.registry.close();
  });

  test('a custom store that throws leaves the registry unchanged', () => {
    const failing: RegistryStore = {
      location: 'memory://failing',
      load: () => ({ services: [], checks: [], index: 0 }),
      putService: () => {
        throw new Error('nope');
      },
      deleteService: () => {},
      putCheck: () => {},
      deleteCheck: () => {},
      setCheckState: () => {},
      saveIndex: () => {},
      close: () => {},
    };
    const registry = createRegistry({ store: failing, clock: new ManualClock(0) });
    assert.throws(() => registry.register({ Name: 'a' }), /nope/);
    assert.equal(registry.index, 1);
    assert.deepEqual(registry.services(), []);
  });

  test('the store is WAL and closing it twice is harmless', () => {
    const file = newFile();
    const store = createSqliteRegistryStore(file);
    store.close();
    store.close();
    const db = new DatabaseSync(file);
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    db.close();
  });
});
