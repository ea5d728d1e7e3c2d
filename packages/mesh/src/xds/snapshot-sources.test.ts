import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDiscoveryClient, createRegistry, registrySource } from '@switchyard/discovery';
import { discoverySnapshotSource } from './discovery-snapshot-source.ts';
import { registrySnapshotSource } from './registry-snapshot-source.ts';
import type { XdsServiceMap } from './types.ts';

const ports = (map: XdsServiceMap | undefined, service: string) => map?.get(service)?.map((i) => i.port);

test('registrySnapshotSource reports every service now and after each change, without critical instances', async (t) => {
  const registry = createRegistry();
  t.after(() => registry.close());
  registry.register({ Name: 'a', ID: 'a-1', Address: '127.0.0.1', Port: 1001 });
  registry.register({
    Name: 'b',
    ID: 'b-1',
    Address: '127.0.0.1',
    Port: 2001,
    Check: { TTL: '30s', Status: 'critical' },
  });
  const seen: XdsServiceMap[] = [];
  const sub = registrySnapshotSource(registry).watch((s) => seen.push(s));
  assert.deepEqual(ports(seen.at(-1), 'a'), [1001]);
  assert.deepEqual(ports(seen.at(-1), 'b'), []);
  registry.register({ Name: 'a', ID: 'a-2', Address: '127.0.0.1', Port: 1002 });
  assert.deepEqual(ports(seen.at(-1), 'a'), [1001, 1002]);
  sub.dispose();
  const count = seen.length;
  registry.deregister('a-2');
  assert.equal(seen.length, count, 'no report after dispose');
});

test('discoverySnapshotSource reports once every listed service has a list, then on changes', async (t) => {
  const registry = createRegistry();
  t.after(() => registry.close());
  registry.register({ Name: 'a', ID: 'a-1', Address: '127.0.0.1', Port: 1001 });
  const discovery = createDiscoveryClient({ source: registrySource(registry), initialTimeout: 200 });
  t.after(() => discovery.close());
  const seen: XdsServiceMap[] = [];
  let wake: () => void = () => {};
  const sub = discoverySnapshotSource(discovery, ['a', 'none']).watch((s) => {
    seen.push(s);
    wake();
  });
  t.after(() => sub.dispose());
  const next = () => new Promise<void>((resolve) => (wake = resolve));
  await next();
  assert.deepEqual(ports(seen.at(-1), 'a'), [1001]);
  assert.deepEqual(ports(seen.at(-1), 'none'), []);
  const changed = next();
  registry.register({ Name: 'a', ID: 'a-2', Address: '127.0.0.1', Port: 1002 });
  await changed;
  assert.deepEqual(ports(seen.at(-1), 'a'), [1001, 1002]);
});
