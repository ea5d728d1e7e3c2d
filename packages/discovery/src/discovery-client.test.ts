import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError, ManualClock, type ServiceInstance } from '@switchyard/core';
import { createDiscoveryClient } from './discovery-client.ts';
import { discoveryError } from './errors.ts';
import { createRegistry } from './registry.ts';
import { registrySource } from './registry-source.ts';
import type { DiscoverySource, DiscoveryWatcher } from './types.ts';
import type { DiscoveryEvent } from './watch-stream.ts';

/** A source driven by the test: it records watchers and answers only when told. */
function manualSource() {
  const watchers = new Map<string, DiscoveryWatcher>();
  let closed = false;
  const source: DiscoverySource = {
    watch(service, watcher) {
      watchers.set(service, watcher);
      const dispose = () => watchers.delete(service);
      return { dispose, [Symbol.dispose]: dispose };
    },
    async close() {
      closed = true;
    },
  };
  return { source, watchers, isClosed: () => closed };
}

function instance(
  id: string,
  tags: readonly string[] = [],
  status: 'passing' | 'warning' = 'passing',
): ServiceInstance {
  return Object.freeze({
    id,
    service: 'orders',
    address: '127.0.0.1',
    port: 8080,
    tags: Object.freeze([...tags]),
    meta: {},
    status,
    weight: 1,
  });
}

/** Whether `promise` is still pending after the microtask queue drained. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await flush();
  return !settled;
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('discovery client over the in-process registry', () => {
  test('serves passing and warning instances with their weights, never critical ones', async () => {
    const registry = createRegistry({ clock: new ManualClock() });
    registry.register({
      Name: 'orders',
      ID: 'o1',
      Address: '10.0.0.1',
      Port: 8081,
      Tags: ['v1'],
      Meta: { zone: 'a' },
      Weights: { Passing: 10, Warning: 2 },
      Check: { TTL: '30s', Status: 'passing' },
    });
    registry.register({
      Name: 'orders',
      ID: 'o2',
      Port: 8082,
      Weights: { Passing: 10, Warning: 2 },
      Check: { TTL: '30s', Status: 'warning' },
    });
    registry.register({ Name: 'orders', ID: 'o3', Port: 8083, Check: { TTL: '30s' } });
    const discovery = createDiscoveryClient({ source: registrySource(registry), clock: new ManualClock() });

    const list = await discovery.instances('orders');
    assert.deepEqual(list, [
      {
        id: 'o1',
        service: 'orders',
        address: '10.0.0.1',
        port: 8081,
        tags: ['v1'],
        meta: { zone: 'a' },
        status: 'passing',
        weight: 10,
      },
      // No Address: the node's address, as in Consul.
      {
        id: 'o2',
        service: 'orders',
        address: '127.0.0.1',
        port: 8082,
        tags: [],
        meta: {},
        status: 'warning',
        weight: 2,
      },
    ]);
    assert.ok(Object.isFrozen(list) && Object.isFrozen(list[0]) && Object.isFrozen(list[0]?.tags));
    await discovery.close();
    await registry.close();
  });

  test('the warm path hands out the same promise until the list changes', async () => {
    const registry = createRegistry({ clock: new ManualClock() });
    registry.register({ Name: 'orders', ID: 'o1', Port: 1 });
    const discovery = createDiscoveryClient({ source: registrySource(registry) });
    const first = await discovery.instances('orders');
    const warm = discovery.instances('orders');
    assert.equal(discovery.instances('orders'), warm, 'no new promise per call');
    assert.equal(await warm, first, 'no new array per call');

    const changes: (readonly ServiceInstance[])[] = [];
    using subscription = discovery.onChange('orders', (list) => changes.push(list));
    registry.register({ Name: 'orders', ID: 'o2', Port: 2 });
    assert.notEqual(discovery.instances('orders'), warm);
    assert.deepEqual(
      (await discovery.instances('orders')).map((i) => i.id),
      ['o1', 'o2'],
    );
    registry.register({ Name: 'users', ID: 'u1' });
    assert.equal(changes.length, 1, 'a change to another service is not reported');
    assert.equal(discovery.cached('orders'), changes[0]);
    assert.ok(subscription);
    await discovery.close();
    await registry.close();
  });

  test('a service with no instances resolves to an empty list', async () => {
    const registry = createRegistry({ clock: new ManualClock() });
    const discovery = createDiscoveryClient({ source: registrySource(registry) });
    assert.deepEqual(await discovery.instances('nobody'), []);
    await discovery.close();
    await registry.close();
  });
});

describe('discovery client waiting and failing', () => {
  test('the first call waits for the first answer', async () => {
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock() });
    const pending = discovery.instances('orders');
    assert.equal(discovery.cached('orders'), undefined);
    watchers.get('orders')?.next([instance('o1')]);
    assert.deepEqual(
      (await pending).map((i) => i.id),
      ['o1'],
    );
    await discovery.close();
  });

  test('the first call gives up after initialTimeout with the last error as cause', async () => {
    const { source, watchers } = manualSource();
    const clock = new ManualClock();
    const discovery = createDiscoveryClient({ source, clock, initialTimeout: '2s' });
    const pending = discovery.instances('orders');
    const refused = discoveryError('SY_DISCOVERY_REGISTRY_UNREACHABLE', 'connect ECONNREFUSED', { retryable: true });
    watchers.get('orders')?.error(refused);
    clock.advance(1999);
    await flush();
    clock.advance(1);
    await assert.rejects(pending, (err) => {
      assert.ok(isSwitchyardError(err, 'SY_DISCOVERY_UNAVAILABLE'));
      assert.equal(err.cause, refused);
      assert.ok(err.message.includes('"orders"') && err.message.includes('ECONNREFUSED'), err.message);
      return true;
    });
    // The watch keeps going; a later answer is served.
    watchers.get('orders')?.next([instance('o1')]);
    assert.equal((await discovery.instances('orders')).length, 1);
    await discovery.close();
  });

  test('an error retrying cannot fix ends the first wait at once', async () => {
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock() });
    const pending = discovery.instances('orders');
    const denied = discoveryError('SY_DISCOVERY_REGISTRY_REJECTED', 'GET ... answered 403: ACL not found');
    watchers.get('orders')?.error(denied);
    await assert.rejects(pending, (err) => isSwitchyardError(err, 'SY_DISCOVERY_UNAVAILABLE') && err.cause === denied);
    await discovery.close();
  });

  test('keeps serving the last good list while the source fails', async () => {
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock() });
    const pending = discovery.instances('orders');
    watchers.get('orders')?.next([instance('o1')]);
    const good = await pending;
    watchers.get('orders')?.error(discoveryError('SY_DISCOVERY_REGISTRY_UNREACHABLE', 'down', { retryable: true }));
    assert.equal(await discovery.instances('orders'), good);
    await discovery.close();
  });

  test('equal lists are not reported as changes', async () => {
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock() });
    const seen: number[] = [];
    discovery.onChange('orders', (list) => seen.push(list.length));
    watchers.get('orders')?.next([instance('o1')]);
    watchers.get('orders')?.next([instance('o1')]);
    watchers.get('orders')?.next([instance('o1'), instance('o2')]);
    assert.deepEqual(seen, [1, 2]);
    await discovery.close();
  });

  test('abort and close reject waiting calls; close closes the source and stops watches', async () => {
    const { source, watchers, isClosed } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock() });
    const controller = new AbortController();
    const aborted = discovery.instances('a', controller.signal);
    controller.abort();
    await assert.rejects(aborted, (err) => isSwitchyardError(err, 'SY_CANCELLED'));

    const waiting = discovery.instances('b');
    await discovery.close();
    await discovery.close();
    await assert.rejects(waiting, (err) => isSwitchyardError(err, 'SY_DISCOVERY_CLOSED'));
    await assert.rejects(discovery.instances('b'), (err) => isSwitchyardError(err, 'SY_DISCOVERY_CLOSED'));
    assert.ok(isClosed());
    assert.equal(watchers.size, 0);
  });
});

describe('discovery client watch streams', () => {
  test('the first event is the current list; only changes to the watched service wake the stream', async () => {
    const registry = createRegistry({ clock: new ManualClock() });
    registry.register({ Name: 'orders', ID: 'o1', Port: 1 });
    const clock = new ManualClock(1000);
    const discovery = createDiscoveryClient({ source: registrySource(registry), clock });
    const stream = discovery.watch('orders');
    const first = await stream.next();
    assert.equal(first.done, false);
    assert.deepEqual(first.value, {
      type: 'instances',
      service: 'orders',
      instances: discovery.cached('orders'),
      at: 1000,
    });

    const pending = stream.next();
    registry.register({ Name: 'users', ID: 'u1', Port: 2 });
    registry.register({ Name: 'users', ID: 'u2', Port: 3 });
    assert.ok(await isPending(pending), 'a change to another service wakes no orders watcher');

    registry.register({ Name: 'orders', ID: 'o2', Port: 4 });
    const next = await pending;
    assert.ok(!next.done && next.value.type === 'instances');
    assert.deepEqual(
      next.value.instances.map((i) => i.id),
      ['o1', 'o2'],
    );
    await discovery.close();
    assert.deepEqual(await stream.next(), { done: true, value: undefined }, 'close() ends the stream');
    await registry.close();
  });

  test('resynced passes through before the list it brings; an unchanged re-list adds no instances event', async () => {
    const { source, watchers } = manualSource();
    const clock = new ManualClock(0);
    const discovery = createDiscoveryClient({ source, clock });
    const stream = discovery.watch('orders');
    const watcher = watchers.get('orders');
    const events: DiscoveryEvent[] = [];
    const read = async () => {
      const result = await stream.next();
      if (!result.done) events.push(result.value);
    };
    watcher?.next([instance('o1')]);
    await read();
    watcher?.resynced?.('consul index went backwards (42 -> 3)');
    watcher?.next([instance('o1')]);
    await read();
    const pending = stream.next();
    assert.ok(await isPending(pending), 'an equal re-list adds no instances event');
    clock.advance(10);
    watcher?.resynced?.('etcd compaction');
    watcher?.next([instance('o1'), instance('o2')]);
    const resync = await pending;
    if (!resync.done) events.push(resync.value);
    await read();
    assert.deepEqual(
      events.map((e) => [e.type, e.type === 'resynced' ? e.reason : e.type === 'instances' ? e.instances.length : 0]),
      [
        ['instances', 1],
        ['resynced', 'consul index went backwards (42 -> 3)'],
        ['resynced', 'etcd compaction'],
        ['instances', 2],
      ],
    );
    assert.deepEqual(events[2], { type: 'resynced', service: 'orders', reason: 'etcd compaction', at: 10 });
    await discovery.close();
  });

  test('a slow consumer gets the latest list, not every one in between', async () => {
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock() });
    const stream = discovery.watch('orders');
    const watcher = watchers.get('orders');
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      ids.push(`o${i}`);
      watcher?.resynced?.(`resync ${i}`);
      watcher?.next(ids.map((id) => instance(id)));
    }
    const first = await stream.next();
    assert.ok(!first.done && first.value.type === 'resynced');
    assert.equal(first.value.reason, 'resync 999', 'only the latest resync was kept');
    const second = await stream.next();
    assert.ok(!second.done && second.value.type === 'instances');
    assert.equal(second.value.instances.length, 1000, 'only the latest list was kept');
    assert.ok(await isPending(stream.next()), 'nothing else was queued');
    await discovery.close();
  });

  test('an abort signal ends iteration; break disposes the listener', async () => {
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock() });
    const known = discovery.instances('orders');
    watchers.get('orders')?.next([instance('o1')]);
    await known;
    const controller = new AbortController();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const event of discovery.watch('orders', { signal: controller.signal })) seen.push(event.type);
    })();
    await flush();
    controller.abort();
    await loop;
    assert.deepEqual(seen, ['instances']);

    const aborted = discovery.watch('orders', { signal: AbortSignal.abort() });
    assert.deepEqual(await aborted.next(), { done: true, value: undefined }, 'an aborted signal gives an ended stream');

    const stream = discovery.watch('orders');
    for await (const _event of stream) break;
    watchers.get('orders')?.next([instance('o1'), instance('o2')]);
    assert.deepEqual(await stream.next(), { done: true, value: undefined }, 'nothing reaches a stream after break');
    await discovery.close();
    assert.throws(
      () => discovery.watch('orders'),
      (err) => isSwitchyardError(err, 'SY_DISCOVERY_CLOSED'),
    );
  });
});

describe('discovery client pick and filters', () => {
  const pool = [
    instance('o1', ['v1']),
    instance('o2', ['v2', 'canary']),
    instance('o3', ['v2'], 'warning'),
    instance('o4', ['v2', 'canary'], 'warning'),
    instance('o5', ['v1']),
  ];

  test('instances filters by tags and passing in memory, one promise per list and filter', async () => {
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock() });
    const pending = discovery.instances('orders', { tags: ['v2'] });
    watchers.get('orders')?.next(pool);
    assert.deepEqual(
      (await pending).map((i) => i.id),
      ['o2', 'o3', 'o4'],
    );
    const canaries = discovery.instances('orders', { tags: ['v2', 'canary'] });
    assert.equal(discovery.instances('orders', { tags: ['v2', 'canary'] }), canaries, 'warm path: same promise');
    assert.deepEqual(
      (await canaries).map((i) => i.id),
      ['o2', 'o4'],
    );
    assert.deepEqual(
      (await discovery.instances('orders', { tags: ['v2'], passing: true })).map((i) => i.id),
      ['o2'],
    );
    assert.deepEqual(await discovery.instances('orders', { tags: ['nope'] }), []);
    assert.equal(discovery.instances('orders', {}), discovery.instances('orders'), 'no filter: the shared promise');
    assert.equal(
      discovery.instances('orders', { tags: ['canary', 'v2'] }),
      canaries,
      'tags match as a set, in any order',
    );
    assert.ok(Object.isFrozen(await canaries));

    watchers.get('orders')?.next(pool.slice(0, 2));
    assert.deepEqual(
      (await discovery.instances('orders', { tags: ['v2', 'canary'] })).map((i) => i.id),
      ['o2'],
      'filtered views follow the list',
    );
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(discovery.instances('orders', { tags: ['v2'], signal: controller.signal }), (err) =>
      isSwitchyardError(err, 'SY_CANCELLED'),
    );
    await discovery.close();
  });

  test('pick rotates round robin by default, honours tags and waits for the first list', async () => {
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock() });
    const first = discovery.pick('orders');
    watchers.get('orders')?.next(pool);
    assert.equal((await first)?.id, 'o1');
    assert.equal((await discovery.pick('orders'))?.id, 'o2');
    for (let i = 0; i < 4; i++) assert.ok((await discovery.pick('orders', { tags: ['v1'] }))?.tags.includes('v1'));
    assert.equal(await discovery.pick('orders', { tags: ['none'] }), undefined);
    const own = { pick: () => pool[3] };
    assert.equal((await discovery.pick('orders', { balancer: own }))?.id, 'o4');
    await discovery.close();
  });

  test('pick with a key is sticky with ring_hash, and other keys spread', async () => {
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock(), balancer: 'ring_hash' });
    const started = discovery.pick('orders', { key: 'user-42' });
    watchers.get('orders')?.next(pool);
    await started;
    const chosen = new Set<string | undefined>();
    for (let i = 0; i < 20; i++) chosen.add((await discovery.pick('orders', { key: 'user-42' }))?.id);
    assert.equal(chosen.size, 1, 'the same key always picks the same instance');
    const spread = new Set<string | undefined>();
    for (let i = 0; i < 200; i++) spread.add((await discovery.pick('orders', { key: `user-${i}` }))?.id);
    assert.ok(spread.size >= 3, `keys spread over instances: ${[...spread].join(',')}`);
    const canary = new Set<string | undefined>();
    for (let i = 0; i < 20; i++) canary.add((await discovery.pick('orders', { key: 'user-42', tags: ['canary'] }))?.id);
    assert.equal(canary.size, 1, 'sticky within a tag filter too');
    await discovery.close();
  });

  test('the balancer option takes a factory per service and rejects an unknown kind', async () => {
    const services: string[] = [];
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({
      source,
      clock: new ManualClock(),
      balancer: (service) => {
        services.push(service);
        return { pick: (list) => list.at(-1) };
      },
    });
    const started = discovery.pick('orders');
    watchers.get('orders')?.next(pool);
    assert.equal((await started)?.id, 'o5');
    await discovery.pick('orders');
    assert.deepEqual(services, ['orders'], 'one balancer per service');
    await discovery.close();

    assert.throws(
      // @ts-expect-error: not a BalancerKind
      () => createDiscoveryClient({ source: manualSource().source, balancer: 'fastest' }),
      (err) => {
        assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
        assert.match(err.message, /discovery\.balancer: expected one of round_robin, .* got "fastest"/);
        return true;
      },
    );
  });
});

describe('discovery client staleness', () => {
  test('errors mark the list stale while it keeps being served; the next list clears it', async () => {
    const { source, watchers } = manualSource();
    const clock = new ManualClock(1000);
    const discovery = createDiscoveryClient({ source, clock });
    assert.equal(discovery.status('orders'), undefined, 'an unwatched service has no status');
    const stream = discovery.watch('orders');
    assert.deepEqual(discovery.status('orders'), { fresh: false }, 'watched, no list yet');
    const watcher = watchers.get('orders');
    watcher?.next([instance('o1')]);
    assert.deepEqual(discovery.status('orders'), { fresh: true, lastUpdate: 1000 });
    const events: DiscoveryEvent[] = [];
    const read = async () => {
      const result = await stream.next();
      if (!result.done) events.push(result.value);
    };
    await read();

    clock.advance(500);
    const down = discoveryError('SY_DISCOVERY_REGISTRY_UNREACHABLE', 'connect ECONNREFUSED', { retryable: true });
    watcher?.error(down);
    clock.advance(250);
    const again = discoveryError('SY_DISCOVERY_REGISTRY_TIMEOUT', 'no answer', { retryable: true });
    watcher?.error(again);
    assert.deepEqual(discovery.status('orders'), {
      fresh: false,
      staleSince: 1500,
      lastError: again,
      lastUpdate: 1000,
    });
    await read();
    const third = stream.next();
    assert.ok(await isPending(third), 'one stale event per stale period');
    assert.deepEqual(
      (await discovery.instances('orders')).map((i) => i.id),
      ['o1'],
      'the last good list is still served',
    );
    assert.equal((await discovery.pick('orders'))?.id, 'o1');

    clock.advance(250);
    watcher?.next([instance('o1')]);
    assert.deepEqual(discovery.status('orders'), { fresh: true, lastUpdate: 2000 });

    const fresh = await third;
    if (!fresh.done) events.push(fresh.value);
    assert.deepEqual(
      events.map((e) => e.type),
      ['instances', 'stale', 'fresh'],
      'one stale event per stale period',
    );
    assert.deepEqual(events[1], { type: 'stale', service: 'orders', since: 1500, error: down });
    assert.deepEqual(events[2], { type: 'fresh', service: 'orders', at: 2000, staleForMs: 500 });
    await discovery.close();
  });

  test('a new stream of a stale service starts with the list, then stale; a stale period unread is skipped', async () => {
    const { source, watchers } = manualSource();
    const clock = new ManualClock(0);
    const discovery = createDiscoveryClient({ source, clock });
    const early = discovery.watch('orders');
    const watcher = watchers.get('orders');
    watcher?.next([instance('o1')]);
    const down = discoveryError('SY_DISCOVERY_REGISTRY_UNREACHABLE', 'down', { retryable: true });
    watcher?.error(down);

    const late = discovery.watch('orders');
    assert.deepEqual([(await late.next()).value?.type, (await late.next()).value?.type], ['instances', 'stale']);
    // `early` read nothing: the stale period that ended before it read is dropped.
    watcher?.next([instance('o1')]);
    assert.equal((await early.next()).value?.type, 'instances');
    assert.ok(await isPending(early.next()), 'stale + fresh unread cancel out');
    assert.equal((await late.next()).value?.type, 'fresh', 'a reader that saw stale sees fresh');
    await discovery.close();
  });

  test('errors before the first list are reported as stale on the stream', async () => {
    const { source, watchers } = manualSource();
    const discovery = createDiscoveryClient({ source, clock: new ManualClock(5) });
    const stream = discovery.watch('orders');
    const down = discoveryError('SY_DISCOVERY_REGISTRY_UNREACHABLE', 'down', { retryable: true });
    watchers.get('orders')?.error(down);
    assert.deepEqual((await stream.next()).value, { type: 'stale', service: 'orders', since: 5, error: down });
    watchers.get('orders')?.next([instance('o1')]);
    assert.deepEqual([(await stream.next()).value?.type, (await stream.next()).value?.type], ['instances', 'fresh']);
    await stream.return();
    await discovery.close();
  });
});
