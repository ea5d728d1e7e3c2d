import { createHttpClient } from '@switchyard/client';
import { createLocalCa } from '@switchyard/mesh';
import { peerSpiffeId, startService } from '@switchyard/service';

// One CA for the trust domain; `dir` keeps its root across restarts (key file mode 0600).
const ca = await createLocalCa({ trustDomain: 'shop.local', workloadTtl: '1h' });

// The service: HTTPS with client certificates, only the gateway may call it.
const ordersIdentity = await ca.workloadIdentity({ serviceAccount: 'orders' });
const orders = await startService({
  name: 'orders',
  handler: (req, res) => res.end(`hello ${peerSpiffeId(req)}\n`),
  mtls: { identity: ordersIdentity, allow: ['spiffe://shop.local/ns/default/sa/gateway'] },
  handleSignals: false,
});

// The caller: presents its own certificate and checks that it reached `orders`.
const gatewayIdentity = await ca.workloadIdentity({ serviceAccount: 'gateway' });
const discovery = {
  // A registry would list the instance with meta.scheme "https", as startService registers it.
  instances: async () => [
    {
      id: orders.id,
      service: 'orders',
      address: '127.0.0.1',
      port: orders.port,
      tags: [],
      meta: { scheme: 'https' },
      status: 'passing' as const,
      weight: 1,
    },
  ],
};
const client = createHttpClient({
  discovery,
  mtls: { identity: gatewayIdentity, expect: ['spiffe://shop.local/ns/default/sa/orders'] },
});

const res = await client.request('orders', { path: '/' });
console.log(res.statusCode, await res.body.text()); // 200 hello spiffe://shop.local/ns/default/sa/gateway

await client.close();
await orders.close();
ordersIdentity.close();
gatewayIdentity.close();
