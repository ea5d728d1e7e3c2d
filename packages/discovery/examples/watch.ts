import { createDiscoveryClient, createRegistry, registrySource } from '@switchyard/discovery';

const registry = createRegistry();
registry.register({ Name: 'carts', ID: 'carts-1', Port: 8081, Tags: ['v2'], Check: { TTL: '30s', Status: 'passing' } });
registry.register({ Name: 'carts', ID: 'carts-2', Port: 8082, Tags: ['v2'], Check: { TTL: '30s', Status: 'passing' } });

const discovery = createDiscoveryClient({ source: registrySource(registry), balancer: 'ring_hash' });

// From memory: the same key goes to the same instance while the list is unchanged.
const a = await discovery.pick('carts', { key: 'user-42', tags: ['v2'] });
const b = await discovery.pick('carts', { key: 'user-42', tags: ['v2'] });
console.log(a?.id === b?.id); // true

// Per-service changes as an async iterator; `break` (or an aborted signal) ends it.
const controller = new AbortController();
for await (const event of discovery.watch('carts', { signal: controller.signal })) {
  if (event.type === 'instances') {
    console.log(event.instances.map((i) => i.id).join(', '));
    if (event.instances.length === 3) break;
    registry.register({ Name: 'carts', ID: 'carts-3', Port: 8083, Check: { TTL: '30s', Status: 'passing' } });
  } else if (event.type === 'stale') {
    console.warn('carts list may be out of date since', new Date(event.since), event.error);
  }
}
console.log(discovery.status('carts')); // { fresh: true, lastUpdate: ... }

await discovery.close();
await registry.close();
