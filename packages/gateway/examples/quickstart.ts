/**
 * Two tiny upstreams and a gateway in front of them, found through a static instance source.
 *
 *   node examples/quickstart.ts            # gateway on http://127.0.0.1:8080
 *   PORT=0 node examples/quickstart.ts     # any free port
 *   curl -i 'http://127.0.0.1:8080/api/orders/12?x=1'
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceInstance } from '@switchyard/core';
import { createGateway, type InstanceSource } from '@switchyard/gateway';

async function startUpstream(name: string): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({ upstream: name, method: req.method, url: req.url, requestId: req.headers['x-request-id'] }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function instanceOf(server: Server, id: string): ServiceInstance {
  const { port } = server.address() as AddressInfo;
  return { id, service: 'orders', address: '127.0.0.1', port, tags: [], meta: {}, status: 'passing', weight: 1 };
}

const upstreams = [await startUpstream('orders-1'), await startUpstream('orders-2')];
const instances = [instanceOf(upstreams[0] as Server, 'orders-1'), instanceOf(upstreams[1] as Server, 'orders-2')];

// Any object with `instances(service)` will do; the discovery client is one.
const discovery: InstanceSource = {
  instances: async (service) => (service === 'orders' ? instances : []),
};

const gateway = await createGateway({
  options: {
    port: Number(process.env.PORT ?? 8080),
    routes: [{ path: '/api/orders', service: 'orders', timeout: '5s' }],
  },
  discovery,
});
console.log(`gateway listening on ${gateway.url}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await gateway.close();
    for (const server of upstreams) server.close();
  });
}
