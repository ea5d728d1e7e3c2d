import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError, ManualClock, type ServiceInstance } from '@switchyard/core';
import { createDiscoveryClient } from './discovery-client.ts';
import { discoveryError } from './errors.ts';
import { createRegistry } from './registry.ts';
import { registrySource } from './registry-source.ts';
import type { DiscoverySource, DiscoveryWatcher } from './types.ts';

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

function instance(id: string): ServiceInstance {
  return Object.freeze({
    id,
    service: 'orders',
    address: '127.0.0.1',
    port: 8080,
    tags: [],
    meta: {},
    status: 'passing' as const,
    weight: 1,
  });
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
