import {
  consulSource,
  createDiscoveryClient,
  createRegistry,
  createRegistryServer,
  roundRobin,
} from '@switchyard/discovery';
import Consul from 'consul';

// 1. The embedded registry, served over Consul's HTTP API (port 0 picks a free port; the default is 8500).
const registry = createRegistry();
const server = await createRegistryServer({ registry, port: 0 });
console.log(`registry listening on ${server.url}`);

// 2. Register two instances with the ordinary `consul` npm client.
const consul = new Consul({ host: '127.0.0.1', port: server.port });
for (const [id, port] of [
  ['orders-1', 8081],
  ['orders-2', 8082],
] as const) {
  await consul.agent.service.register({
    name: 'orders',
    id,
    address: '127.0.0.1',
    port,
    tags: ['v1'],
    check: { name: 'heartbeat', ttl: '30s', status: 'passing', timeout: '1s' },
  });
}

// 3. Discover them with Switchyard's cached client and balance over them.
const discovery = createDiscoveryClient({ source: consulSource({ url: server.url }) });
const instances = await discovery.instances('orders');
for (const instance of instances) {
  console.log(`${instance.id} ${instance.address}:${instance.port} ${instance.status}`);
}
const balancer = roundRobin();
console.log(`next: ${balancer.pick(instances)?.id}, then ${balancer.pick(instances)?.id}`);

// 4. Shut down in reverse order.
await discovery.close();
consul.destroy();
await server.close();
await registry.close();
