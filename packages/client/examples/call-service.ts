import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpClient } from '@switchyard/client';
import type { ServiceInstance } from '@switchyard/core';
import { createTimeout, TIMEOUT_HEADER } from '@switchyard/resilience';

// Two instances of "orders": the first is overloaded and answers 503, the second works.
async function startInstance(id: string, status: number): Promise<ServiceInstance> {
  const server = createServer((req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id, budgetMs: Number(req.headers[TIMEOUT_HEADER]) }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.unref();
  const { port } = server.address() as AddressInfo;
  return { id, service: 'orders', address: '127.0.0.1', port, tags: [], meta: {}, status: 'passing', weight: 1 };
}
const instances = [await startInstance('orders-1', 503), await startInstance('orders-2', 200)];

// In a real system `discovery` is a DiscoveryClient from @switchyard/discovery.
const client = createHttpClient({
  discovery: { instances: async (service) => (service === 'orders' ? instances : []) },
  timeout: '2s',
});
client.onRetry(({ attempt, previousInstance, statusCode, instance }) =>
  console.log(`attempt ${attempt}: ${previousInstance?.id} answered ${statusCode}, retrying on ${instance.id}`),
);

// The whole call, retries included, gets 5 s; each instance is told how much of it is left.
const order = await createTimeout({ timeout: '5s' }).execute(async ({ signal }) => {
  const res = await client.request('orders', { path: '/orders/42', signal });
  const body = (await res.body.json()) as { id: string; budgetMs: number };
  return {
    status: res.statusCode,
    from: body.id,
    attempts: res.attempts,
    budget: `${Math.round(body.budgetMs / 1000)}s`,
  };
});
console.log(order);
await client.close();
