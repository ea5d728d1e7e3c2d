/**
 * Two versions of the orders service behind one gateway: 90% of users on v1, 10% on v2 (each
 * user kept on one version by `x-user-id`), `x-api-version: 2` or the `beta=yes` cookie pins
 * v2, `/v2/orders` always reaches v2, and 10% of requests are mirrored to v2 as well.
 *
 *   node examples/versions.ts              # gateway on http://127.0.0.1:8080
 *   PORT=0 node examples/versions.ts       # any free port
 *   curl -i -H 'x-user-id: alice' http://127.0.0.1:8080/api/orders/12
 *   curl -i -H 'x-api-version: 2' http://127.0.0.1:8080/api/orders/12
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceInstance } from '@switchyard/core';
import { createGateway, type InstanceSource } from '@switchyard/gateway';

async function startVersion(version: string): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version, url: req.url, mirrored: req.headers['x-switchyard-mirror'] === 'true' }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

// Instances register with `meta.version` (a registration's `Meta` in the registry).
function instanceOf(server: Server, version: string): ServiceInstance {
  const { port } = server.address() as AddressInfo;
  return {
    id: `orders-${version}`,
    service: 'orders',
    address: '127.0.0.1',
    port,
    tags: [],
    meta: { version },
    status: 'passing',
    weight: 1,
  };
}

const upstreams = [await startVersion('v1'), await startVersion('v2')];
const instances = [instanceOf(upstreams[0] as Server, 'v1'), instanceOf(upstreams[1] as Server, 'v2')];
const discovery: InstanceSource = { instances: async (service) => (service === 'orders' ? instances : []) };

const gateway = await createGateway({
  options: {
    port: Number(process.env.PORT ?? 8080),
    subsets: {
      // Written stable first: sticky hashing lays out the split's ranges in this order.
      orders: { v1: { meta: { version: 'v1' } }, v2: { meta: { version: 'v2' } } },
    },
    routes: [
      {
        name: 'orders',
        path: '/api/orders',
        service: 'orders',
        traffic: {
          split: [
            { subset: 'v1', weight: 90 },
            { subset: 'v2', weight: 10 },
          ],
          match: [
            { header: 'x-api-version', value: '2', subset: 'v2' },
            { cookie: 'beta', value: 'yes', subset: 'v2' },
          ],
          sticky: { header: 'x-user-id' },
          mirror: { subset: 'v2', percent: 10, timeout: '2s' },
          subsetHeader: true,
        },
      },
      { name: 'orders-v2', path: '/v2/orders', service: 'orders', traffic: { subset: 'v2' } },
    ],
  },
  discovery,
});
console.log(`gateway listening on ${gateway.url}`);

// A rollout moves the split at run time; reloads keep it while the subsets exist.
// gateway.traffic.setSplit('orders', [{ subset: 'v1', weight: 50 }, { subset: 'v2', weight: 50 }]);
gateway.traffic.observe((o) => {
  if (o.status >= 500) console.log(`${o.mirrored ? 'mirror' : 'request'} on ${o.subset ?? '-'} failed: ${o.status}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await gateway.close();
    for (const server of upstreams) server.close();
  });
}
