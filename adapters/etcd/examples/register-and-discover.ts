import { createEtcdRegistry } from '@switchyard/adapter-etcd';
import type { ServiceInstance } from '@switchyard/core';
import { createDiscoveryClient } from '@switchyard/discovery';

const url = process.env.SWITCHYARD_ETCD_URL ?? 'http://127.0.0.1:23790';
// One prefix per run, so runs side by side do not see each other's instances.
const prefix = `/switchyard-example/${process.pid}/`;
const show = (list: readonly ServiceInstance[]) => list.map((i) => `${i.id}@${i.address}:${i.port}`).join(', ');

// Two service processes, each with its own registry and lease.
const processA = createEtcdRegistry({ endpoints: [url], prefix, leaseTtl: '5s' });
const processB = createEtcdRegistry({ endpoints: [url], prefix, leaseTtl: '5s' });
await processA.register({ Name: 'orders', ID: 'orders-a', Address: '10.0.0.1', Port: 8080 });
await processB.register({ Name: 'orders', ID: 'orders-b', Address: '10.0.0.2', Port: 8080 });

// A caller: lists the prefix once, then follows it with a watch.
const discovery = createDiscoveryClient({ source: createEtcdRegistry({ endpoints: [url], prefix }) });
console.log('instances:', show(await discovery.instances('orders')));

const changed = new Promise<readonly ServiceInstance[]>((resolve) => discovery.onChange('orders', resolve));
await processB.close(); // revokes B's lease: orders-b is gone at once, not after the TTL
console.log('after B stopped:', show(await changed));

await processA.close();
await discovery.close(); // also closes the caller's registry
