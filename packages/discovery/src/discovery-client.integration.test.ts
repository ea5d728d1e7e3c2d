import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import { consulSource } from './consul-source.ts';
import { createDiscoveryClient } from './discovery-client.ts';
import { nextEvent } from './internal/test-helpers.ts';
import { createRegistry } from './registry.ts';
import { createRegistryServer } from './registry-server.ts';
import type { DiscoveryEvent } from './watch-stream.ts';

test('the discovery client over consulSource follows changes, survives an outage and recovers', async (t) => {
  const registry = createRegistry();
  let server = await createRegistryServer({ registry, port: 0 });
  const { port } = server;
  t.after(async () => {
    await server.close();
    await registry.close();
  });
  registry.register({
    Name: 'orders',
    ID: 'orders-1',
    Address: '127.0.0.1',
    Port: 8081,
    Check: { TTL: '1m', Status: 'passing' },
  });

  const discovery = createDiscoveryClient({
    source: consulSource({ url: server.url, wait: '2s', backoff: { initialMs: 20, maxMs: 100 } }),
  });
  t.after(() => discovery.close());
  const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id);
  const changes = (predicate: (list: readonly ServiceInstance[]) => boolean, what: string) =>
    nextEvent<readonly ServiceInstance[]>(
      (listener) => {
        const subscription = discovery.onChange('orders', listener);
        return () => subscription.dispose();
      },
      predicate,
      what,
    );

  // A stream recording every event, to check staleness is reported across the outage below.
  const events: DiscoveryEvent[] = [];
  let onEvent: (() => void) | undefined;
  const stream = discovery.watch('orders');
  const reading = (async () => {
    for await (const event of stream) {
      events.push(event);
      onEvent?.();
    }
  })();
  const untilEvent = async (type: DiscoveryEvent['type']) => {
    if (events.some((e) => e.type === type)) return;
    await nextEvent<void>(
      (listener) => {
        onEvent = () => listener();
        return () => {
          onEvent = undefined;
        };
      },
      () => events.some((e) => e.type === type),
      `a ${type} event`,
    );
  };

  const first = await discovery.instances('orders');
  assert.deepEqual(ids(first), ['orders-1']);
  assert.equal(first[0]?.weight, 1);

  // A new instance arrives through the blocking query.
  const grown = changes((list) => list.length === 2, 'orders-2 to appear');
  registry.register({ Name: 'orders', ID: 'orders-2', Port: 8082, Check: { TTL: '1m', Status: 'warning' } });
  const two = await grown;
  assert.deepEqual(
    two.map((i) => [i.id, i.status, i.address]),
    [
      ['orders-1', 'passing', '127.0.0.1'],
      ['orders-2', 'warning', '127.0.0.1'],
    ],
  );
  assert.equal(await discovery.instances('orders'), two);

  // A critical instance leaves the list.
  const shrunk = changes((list) => list.length === 1, 'orders-1 to leave');
  registry.updateTtl('service:orders-1', 'critical', 'gone');
  assert.deepEqual(ids(await shrunk), ['orders-2']);

  // The registry server goes away: the last good list is still served.
  await server.close();
  assert.deepEqual(ids(await discovery.instances('orders')), ['orders-2']);
  await untilEvent('stale');
  assert.equal(discovery.status('orders')?.fresh, false);
  assert.deepEqual(ids(await discovery.instances('orders')), ['orders-2'], 'still served while stale');

  // It comes back on the same port: the watch reconnects and catches up.
  const recovered = changes((list) => list.length === 2, 'the list after the registry returns');
  registry.updateTtl('service:orders-1', 'passing');
  server = await createRegistryServer({ registry, port });
  assert.deepEqual(ids(await recovered), ['orders-1', 'orders-2']);
  await untilEvent('fresh');
  assert.equal(discovery.status('orders')?.fresh, true);
  const types = events.map((e) => e.type);
  const stale = types.indexOf('stale');
  assert.ok(
    stale > 0 && types.indexOf('resynced', stale) > stale && types.indexOf('fresh', stale) > stale,
    `stale, then resynced and fresh after the outage: ${types.join(',')}`,
  );
  await stream.return();
  await reading;
});
