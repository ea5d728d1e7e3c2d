import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isSwitchyardError, type SwitchyardError } from '@switchyard/core';
import type { Etcd3, KVClient, LeaseClient } from 'etcd3';
import { createEtcdRegistry, type EtcdRegistry, type LeaseRestoredInfo } from './etcd-registry.ts';
import {
  ETCD_URL,
  eventually,
  RecordingWatcher,
  randomPrefix,
  requireEtcd,
  testClient,
} from './internal/require-etcd.ts';
import { instanceKey } from './key-layout.ts';

const fixture = new URL('./fixtures/registering-child.ts', import.meta.url).pathname;
let direct: Etcd3;
const prefixes: string[] = [];
const registries: EtcdRegistry[] = [];

/** etcd3 keeps its raw KV and lease clients off the typings; the tests need compact and revoke. */
const rpc = (client: Etcd3) => client as unknown as { kv: KVClient; leaseClient: LeaseClient };

function newPrefix(label: string): string {
  const prefix = randomPrefix(label);
  prefixes.push(prefix);
  return prefix;
}

function registry(options: Parameters<typeof createEtcdRegistry>[0]): EtcdRegistry {
  const created = createEtcdRegistry(options);
  registries.push(created);
  return created;
}

/** Also records `resynced` calls with the number of lists seen before each. */
class ResyncRecordingWatcher extends RecordingWatcher {
  readonly resyncs: { reason: string; listsBefore: number }[] = [];

  resynced(reason: string): void {
    this.resyncs.push({ reason, listsBefore: this.lists.length });
  }
}

/** Writes an instance record directly, with no lease, as another process would. */
async function putRecord(prefix: string, service: string, id: string, port = 8080): Promise<void> {
  const record = {
    ID: id,
    Name: service,
    Address: '10.0.0.1',
    Port: port,
    Tags: [],
    Meta: {},
    Weights: { Passing: 1, Warning: 1 },
  };
  await direct.put(instanceKey(prefix, service, id)).value(JSON.stringify(record));
}

function codes(errors: readonly unknown[]): string[] {
  return errors.map((e) => (isSwitchyardError(e) ? e.code : String(e)));
}

/** A TCP proxy in front of etcd whose connections the test can cut and let back. */
async function startProxy(): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const target = new URL(ETCD_URL);
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((inbound) => {
    if (refusing) {
      inbound.destroy();
      return;
    }
    const outbound = connect(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      refusing = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

before(async () => {
  await requireEtcd();
  direct = testClient();
});

after(async () => {
  await Promise.all(registries.map((r) => r.close()));
  for (const prefix of prefixes) await direct.delete().prefix(prefix);
  direct.close();
});

describe('EtcdRegistry against a real etcd', () => {
  it('registers under <prefix><service>/<id> with a lease, discovers, deregisters, and close() revokes', async () => {
    const prefix = newPrefix('basic');
    const etcd = registry({ endpoints: [ETCD_URL], prefix, leaseTtl: '5s' });
    await etcd.register({
      Name: 'orders',
      ID: 'orders-2',
      Address: '10.0.0.2',
      Port: 8082,
      Tags: ['v2'],
      Meta: { zone: 'a' },
      Weights: { Passing: 3 },
      Check: { HTTP: 'http://10.0.0.2:8082/health', Interval: '1s' },
    });
    await etcd.register({ Name: 'orders', ID: 'orders-1', Address: '10.0.0.1', Port: 8081 });

    const stored = await direct.get(instanceKey(prefix, 'orders', 'orders-2')).exec();
    const kv = stored.kvs[0];
    assert.ok(kv !== undefined, 'the instance key exists');
    assert.notEqual(String(kv.lease), '0', 'the key is attached to a lease');
    assert.deepEqual(JSON.parse(kv.value.toString()), {
      ID: 'orders-2',
      Name: 'orders',
      Address: '10.0.0.2',
      Port: 8082,
      Tags: ['v2'],
      Meta: { zone: 'a' },
      Weights: { Passing: 3, Warning: 1 },
    });

    const watcher = new RecordingWatcher();
    using _watch = etcd.watch('orders', watcher);
    await watcher.untilIds(['orders-1', 'orders-2']);
    assert.deepEqual(watcher.lists.at(-1)?.[1], {
      id: 'orders-2',
      service: 'orders',
      address: '10.0.0.2',
      port: 8082,
      tags: ['v2'],
      meta: { zone: 'a' },
      status: 'passing',
      weight: 3,
    });

    assert.equal(await etcd.deregister('orders-1'), true);
    await watcher.untilIds(['orders-2']);
    assert.equal(await etcd.deregister('orders-1'), false, 'an unknown ID is reported, not an error');

    const closer = registry({ endpoints: [ETCD_URL], prefix });
    await closer.register({ Name: 'orders', ID: 'orders-3', Port: 8083 });
    await watcher.untilIds(['orders-2', 'orders-3']);
    await closer.close();
    await closer.close(); // idempotent
    await watcher.untilIds(['orders-2'], 3000); // revoked at once, long before the 10 s TTL
    await assert.rejects(closer.register({ Name: 'orders', ID: 'x' }), { code: 'SY_ETCD_CLOSED' });
    assert.deepEqual(watcher.errors, []);
  });

  it('rejects a registration that cannot be a key, naming the field', async () => {
    const etcd = registry({ endpoints: [ETCD_URL], prefix: newPrefix('invalid') });
    await assert.rejects(etcd.register({ Name: 'a/b' }), (err: SwitchyardError) => {
      assert.equal(err.code, 'SY_ETCD_INVALID_REGISTRATION');
      assert.match(err.message, /Name: must not contain "\/"/);
      return true;
    });
    await assert.rejects(etcd.register({ Name: 'a', Port: 70_000 }), { code: 'SY_ETCD_INVALID_REGISTRATION' });
  });

  it('a watch delivers adds and removals by other processes, full lists ordered by ID', async () => {
    const prefix = newPrefix('watch');
    const etcd = registry({ endpoints: [ETCD_URL], prefix });
    await putRecord(prefix, 'pay', 'pay-b');
    const watcher = new RecordingWatcher();
    using _watch = etcd.watch('pay', watcher);
    await watcher.untilIds(['pay-b']);
    await putRecord(prefix, 'pay', 'pay-a');
    await watcher.untilIds(['pay-a', 'pay-b']);
    await putRecord(prefix, 'pay-eu', 'pay-eu-1'); // another service sharing the name's start
    await direct.delete().key(instanceKey(prefix, 'pay', 'pay-b'));
    await watcher.untilIds(['pay-a']);
    await putRecord(prefix, 'pay', 'pay-a', 9999); // an update is a new list too
    await watcher.until(() => watcher.lists.at(-1)?.[0]?.port === 9999, 'the updated port');
    assert.ok(watcher.lists.every((list) => list.every((i) => i.service === 'pay')));
    // Deregistering an instance another process wrote finds it by ID, as Consul's deregister does.
    assert.equal(await etcd.deregister('pay-a'), true);
    await watcher.untilIds([]);
    assert.equal(
      await direct.get(instanceKey(prefix, 'pay-eu', 'pay-eu-1')).string(),
      '{"ID":"pay-eu-1","Name":"pay-eu","Address":"10.0.0.1","Port":8080,"Tags":[],"Meta":{},"Weights":{"Passing":1,"Warning":1}}',
    );
    assert.deepEqual(watcher.errors, []);
  });

  it('lease expiry removes an instance whose process died (SIGKILL, no deregister)', async () => {
    const prefix = newPrefix('expiry');
    const etcd = registry({ endpoints: [ETCD_URL], prefix });
    const watcher = new RecordingWatcher();
    using _watch = etcd.watch('svc', watcher);
    await watcher.untilIds([]);

    const child = spawn(process.execPath, [fixture, ETCD_URL, prefix, 'svc', 'svc-1', '2s'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    await eventually(async () => out.includes('registered') || undefined, 'the child to register', 15_000);
    await watcher.untilIds(['svc-1']);

    child.kill('SIGKILL');
    await once(child, 'exit');
    // TTL 2 s, plus etcd's expiry sweep and the watch delivery as margin.
    await watcher.untilIds([], 2000 + 4000);
    assert.deepEqual(watcher.errors, []);
  });

  it('re-creates a lost lease and puts its keys again', async () => {
    const prefix = newPrefix('lost');
    const etcd = registry({ endpoints: [ETCD_URL], prefix, leaseTtl: '3s' });
    const lost: SwitchyardError[] = [];
    const restored: LeaseRestoredInfo[] = [];
    etcd.onLeaseLost((err) => lost.push(err));
    etcd.onLeaseRestored((info) => restored.push(info));
    await etcd.register({ Name: 'inv', ID: 'inv-1', Port: 1 });
    const key = instanceKey(prefix, 'inv', 'inv-1');
    const before = (await direct.get(key).exec()).kvs[0]?.lease;
    assert.ok(before !== undefined);

    // What etcd does to a lease after a restart from empty data or a pause longer than the TTL.
    await rpc(direct).leaseClient.leaseRevoke({ ID: before });
    assert.equal(await direct.get(key).string(), null);

    await eventually(async () => restored.length > 0 || undefined, 'the lease to be restored', 10_000);
    assert.equal(lost.length, 1);
    assert.equal(lost[0]?.code, 'SY_ETCD_LEASE_LOST');
    assert.equal(restored[0]?.keys, 1);
    const after = (await direct.get(key).exec()).kvs[0]?.lease;
    assert.ok(after !== undefined && String(after) !== String(before), 'the key is back under a new lease');
    assert.equal(String(after), restored[0]?.leaseId);
  });

  it('a restarted watch resumes from the last revision: no missed event, no stale list', async () => {
    const prefix = newPrefix('resume');
    const proxy = await startProxy();
    after(() => proxy.close());
    const etcd = registry({ endpoints: [proxy.url], prefix, callTimeout: '2s', dialTimeout: '1s' });
    await putRecord(prefix, 'cart', 'cart-a');
    const watcher = new RecordingWatcher();
    using _watch = etcd.watch('cart', watcher);
    await watcher.untilIds(['cart-a']);

    proxy.cut();
    await watcher.until(() => codes(watcher.errors).includes('SY_ETCD_UNAVAILABLE'), 'the break to be reported');
    const seen = watcher.lists.length;
    await putRecord(prefix, 'cart', 'cart-b');
    await direct.delete().key(instanceKey(prefix, 'cart', 'cart-a'));
    await putRecord(prefix, 'cart', 'cart-c');
    proxy.restore();

    await watcher.untilIds(['cart-b', 'cart-c'], 20_000);
    const later = watcher.lists.slice(seen).map((list) => list.map((i) => i.id));
    assert.ok(
      later.every((ids) => !ids.includes('cart-a')),
      `no list after the break brings back the deleted instance: ${JSON.stringify(later)}`,
    );
    assert.ok(!codes(watcher.errors).includes('SY_ETCD_COMPACTED'), 'resumed, not re-listed');
    assert.ok(codes(watcher.errors).every((code) => code === 'SY_ETCD_UNAVAILABLE'));

    // And it keeps following afterwards.
    await putRecord(prefix, 'cart', 'cart-d');
    await watcher.untilIds(['cart-b', 'cart-c', 'cart-d']);
  });

  it('resyncs with a fresh list when the revision to resume from was compacted', async () => {
    const prefix = newPrefix('compact');
    const proxy = await startProxy();
    after(() => proxy.close());
    const etcd = registry({ endpoints: [proxy.url], prefix, callTimeout: '2s', dialTimeout: '1s' });
    await putRecord(prefix, 'ship', 'ship-a');
    const watcher = new ResyncRecordingWatcher();
    using _watch = etcd.watch('ship', watcher);
    await watcher.untilIds(['ship-a']);

    proxy.cut();
    await watcher.until(() => codes(watcher.errors).includes('SY_ETCD_UNAVAILABLE'), 'the break to be reported');
    await direct.delete().key(instanceKey(prefix, 'ship', 'ship-a'));
    await putRecord(prefix, 'ship', 'ship-b');
    await putRecord(prefix, 'ship', 'ship-b', 8081);
    const head = await direct.get(instanceKey(prefix, 'ship', 'ship-b')).exec();
    await rpc(direct).kv.compact({ revision: head.header.revision, physical: true });
    proxy.restore();

    await watcher.until(() => codes(watcher.errors).includes('SY_ETCD_COMPACTED'), 'the resync to be reported', 20_000);
    await watcher.untilIds(['ship-b']);
    assert.equal(watcher.lists.at(-1)?.[0]?.port, 8081);
    // `resynced` came once, just before the re-listed set, with the compaction's message.
    assert.equal(watcher.resyncs.length, 1);
    assert.match(watcher.resyncs[0]?.reason ?? '', /was compacted while the watch was away/);
    const relisted = watcher.lists.findIndex((list) => list.some((i) => i.id === 'ship-b'));
    assert.equal(watcher.resyncs[0]?.listsBefore, relisted);
    await putRecord(prefix, 'ship', 'ship-c');
    await watcher.untilIds(['ship-b', 'ship-c']);
  });

  it('skips and reports a malformed value without stopping the watch', async () => {
    const prefix = newPrefix('malformed');
    const etcd = registry({ endpoints: [ETCD_URL], prefix });
    await putRecord(prefix, 'mail', 'mail-1');
    await direct.put(instanceKey(prefix, 'mail', 'broken')).value('{not json');
    const watcher = new RecordingWatcher();
    using _watch = etcd.watch('mail', watcher);
    await watcher.untilIds(['mail-1']);
    assert.deepEqual(codes(watcher.errors), ['SY_ETCD_INVALID_VALUE']);
    assert.match(String((watcher.errors[0] as Error).message), /broken: the value is not JSON/);

    await direct.put(instanceKey(prefix, 'mail', 'mail-2')).value(JSON.stringify({ ID: 'mail-2', Name: 'mail' }));
    await watcher.until(() => watcher.errors.length === 2, 'the second bad value to be reported');
    await putRecord(prefix, 'mail', 'mail-3');
    await watcher.untilIds(['mail-1', 'mail-3']);
    assert.deepEqual(codes(watcher.errors), ['SY_ETCD_INVALID_VALUE', 'SY_ETCD_INVALID_VALUE']);
  });

  it('reports SY_ETCD_UNAVAILABLE to a watcher while nothing answers', async () => {
    const proxy = await startProxy();
    after(() => proxy.close());
    proxy.cut();
    const etcd = registry({
      endpoints: [proxy.url],
      prefix: newPrefix('down'),
      callTimeout: '1s',
      dialTimeout: '500ms',
    });
    const watcher = new RecordingWatcher();
    using _watch = etcd.watch('any', watcher);
    await watcher.until(() => watcher.errors.length > 0, 'an error', 10_000);
    assert.equal(codes(watcher.errors)[0], 'SY_ETCD_UNAVAILABLE');
    assert.deepEqual(watcher.lists, [], 'no list is invented');
    await assert.rejects(etcd.register({ Name: 'any', ID: 'any-1' }), { code: 'SY_ETCD_UNAVAILABLE' });
    proxy.restore();
    await watcher.untilIds([], 20_000);
  });
});
