/**
 * `store: redis` in a `rateLimit` middleware entry, through the factory the CLI passes: two
 * gateways started from the same plain config share each quota in a real Redis (127.0.0.1:6379).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createGateway, type GatewayOptions } from '@switchyard/gateway';
import { gatewayRateLimitStores } from './rate-limit-stores.ts';

test('rateLimit store: redis shares one quota between gateways', async (t) => {
  const upstream = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  t.after(() => {
    upstream.close();
    upstream.closeAllConnections();
  });
  const port = (upstream.address() as AddressInfo).port;
  const discovery = {
    instances: async (service: string) => [
      {
        id: `${service}-1`,
        service,
        address: '127.0.0.1',
        port,
        tags: [],
        meta: {},
        status: 'passing' as const,
        weight: 1,
      },
    ],
  };
  // As switchyard.yaml would give it; a fresh key prefix per run keeps runs apart.
  const options: GatewayOptions = {
    host: '127.0.0.1',
    port: 0,
    middleware: [
      {
        rateLimit: {
          limit: 3,
          period: '1h',
          store: 'redis',
          // Closed: a missing Redis fails the test with 503s instead of admitting everything.
          onStoreError: 'closed',
          redis: { url: 'redis://127.0.0.1:6379', keyPrefix: `switchyard-test:${randomUUID()}:`, commandTimeout: '2s' },
        },
      },
    ],
    routes: [{ path: '/api', service: 'api' }],
  };
  const first = await createGateway({ options, discovery, rateLimitStores: gatewayRateLimitStores() });
  t.after(() => first.close());
  const second = await createGateway({ options, discovery, rateLimitStores: gatewayRateLimitStores() });
  t.after(() => second.close());

  const statuses: number[] = [];
  const bodies: string[] = [];
  for (const gateway of [first, second, first, second]) {
    const response = await fetch(`${gateway.url}/api`, { signal: AbortSignal.timeout(5_000) });
    statuses.push(response.status);
    bodies.push(await response.text());
  }
  assert.deepEqual(
    statuses,
    [200, 200, 200, 429],
    `Redis must be running on 127.0.0.1:6379; got ${bodies.join(' | ')}`,
  );
  assert.match(bodies[3] ?? '', /SY_GATEWAY_RATE_LIMITED/);
});
