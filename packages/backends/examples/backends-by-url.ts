import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDiscoverySource, openEventBus, openRegistryBackend, openSagaStore } from '@switchyard/backends';
import { createDiscoveryClient } from '@switchyard/discovery';

// The same code runs on embedded defaults or on servers: only these URLs change.
const etcd = (process.env.SWITCHYARD_ETCD_URL ?? 'http://127.0.0.1:2379').replace(/^http:/, 'etcd:');
const registryUrl = process.env.SWITCHYARD_REGISTRY_URL ?? `${etcd}/switchyard-example/${process.pid}/`;
const sagaStoreUrl = process.env.SWITCHYARD_SAGA_STORE ?? 'sqlite:sagas.sqlite';
const eventBusUrl = process.env.SWITCHYARD_EVENT_BUS ?? 'sqlite:bus.sqlite';
const dataDir = mkdtempSync(join(tmpdir(), 'backends-example-'));

const registry = await openRegistryBackend(registryUrl);
await registry.register({ Name: 'orders', ID: 'orders-1', Address: '127.0.0.1', Port: 8081 });
const discovery = createDiscoveryClient({ source: await openDiscoverySource(registryUrl) });
console.log(
  'orders:',
  (await discovery.instances('orders')).map((i) => `${i.id}@${i.address}:${i.port}`),
);

const store = await openSagaStore(sagaStoreUrl, { baseDir: dataDir });
await store.init();
console.log('sagas:', (await store.list()).sagas.length);

const bus = await openEventBus(eventBusUrl, { baseDir: dataDir });
let received: (payload: unknown) => void = () => {};
const delivered = new Promise((resolve) => {
  received = resolve;
});
const subscription = await bus.subscribe('order.approved', async (message) => received(message.payload), {
  group: 'example',
});
await bus.publish('order.approved', { orderId: 'o-1' });
console.log('order.approved:', await delivered);

await subscription.close();
await bus.close();
await store.close();
await discovery.close();
await registry.close(); // etcd: revokes the lease, so orders-1 is gone at once
rmSync(dataDir, { recursive: true, force: true });
