/**
 * The example shop under `switchyard up` with `mtls: true`: the gateway calls every service over
 * mutual TLS, orders calls inventory and payments with its own certificate in the saga, and an
 * instance refuses callers without an allowed certificate: plain HTTP, TLS without a client
 * certificate, a certificate of a service that does not call it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { isMap, isSeq, parseDocument } from 'yaml';
import { alive, eventually, readJsonWhenPresent, root, runCli, type UpProcess } from './helpers.ts';

interface Ready {
  gateway: string;
  registry: string;
  dataDir: string;
  instances: Array<{ id: string; service: string; pid: number }>;
}

interface OrderView {
  id: string;
  status: string;
  saga: { status: string; steps: { name: string; status: string }[] };
}

const spiffeIdOf = (service: string) => `spiffe://switchyard.local/ns/default/sa/${service}`;

describe('the shop with mtls: true', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-shop-mtls-e2e-'));
  const readyFile = join(dir, 'ready.json');
  let up: UpProcess;
  let ready: Ready;

  before(async () => {
    const doc = parseDocument(readFileSync(`${root}examples/shop/switchyard.yaml`, 'utf8'));
    const services = doc.get('services');
    assert.ok(isMap(services));
    for (const item of services.items) doc.setIn(['services', String(item.key), 'cwd'], `${root}examples/shop`);
    // One line turns mTLS on: orders already declares that it calls inventory and payments.
    doc.set('mtls', true);
    const dependsOn = doc.getIn(['services', 'orders', 'dependsOn']);
    assert.ok(isSeq(dependsOn));
    assert.deepEqual(dependsOn.toJSON(), ['inventory', 'payments']);
    const config = join(dir, 'switchyard.yaml');
    writeFileSync(config, doc.toString());
    up = runCli(['up', '-c', config, '--ready-file', readyFile], {
      SWITCHYARD_GATEWAY_PORT: '0',
      SWITCHYARD_REGISTRY_PORT: '0',
      SHOP_DATA_DIR: join(dir, 'data'),
    });
    ready = await eventually(
      'the shop to report ready',
      () => {
        if (up.child.exitCode !== null) throw new Error(`switchyard up exited early:\n${up.output()}`);
        return readJsonWhenPresent<Ready>(readyFile);
      },
      30_000,
    );
  });

  after(async () => {
    if (up.child.exitCode === null && up.child.signalCode === null) {
      up.child.kill('SIGTERM');
      const exit = await up.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, up.output());
    }
    const pids = ready?.instances.map((i) => i.pid) ?? [];
    await eventually('every shop process to exit', () => pids.every((pid) => !alive(pid)), 10_000);
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${ready.gateway}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json()) as T };
  };

  /** The `https://` URL the instance registered with. */
  async function urlOf(service: string): Promise<string> {
    const res = await fetch(`${ready.registry}/v1/health/service/${service}`);
    const entries = (await res.json()) as Array<{
      Service: { Address: string; Port: number; Meta: { scheme?: string } };
    }>;
    const instance = entries[0]?.Service;
    assert.ok(instance, `${service} is registered`);
    assert.equal(instance.Meta.scheme, 'https', `${service} registered as https`);
    return `https://${instance.Address}:${instance.Port}`;
  }

  /** The certificate, key and CA `up` wrote for an instance. */
  const filesOf = (instance: string) => {
    const read = (name: string) => readFileSync(join(ready.dataDir, 'mtls', instance, name), 'utf8');
    return { cert: read('cert.pem'), key: read('key.pem'), ca: read('ca.pem') };
  };

  /**
   * `GET url` on a fresh TLS connection, with a client certificate or none. The instance must
   * present a certificate of `service` from the shop's CA (its SPIFFE ID, not its address).
   */
  function callOverTls(
    url: string,
    service: string,
    tls: { ca: string; cert?: string; key?: string },
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          agent: false,
          ...tls,
          checkServerIdentity: (_host: string, cert: PeerCertificate) => {
            const uris = (cert.subjectaltname ?? '').split(', ').filter((name) => name.startsWith('URI:'));
            return uris.length === 1 && uris[0] === `URI:${spiffeIdOf(service)}`
              ? undefined
              : new Error(`expected ${spiffeIdOf(service)}, got ${cert.subjectaltname}`);
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.setTimeout(5000, () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  it('approves an order through the gateway: the saga calls inventory and payments, the choreography runs', async () => {
    const placed = await api<OrderView>('/api/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: 'ada', items: [{ sku: 'SKU-MOUSE', quantity: 2, price: 24.5 }], total: 49 }),
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.equal(placed.body.status, 'approved', JSON.stringify(placed.body));
    const read = await api<OrderView>(`/api/orders/${placed.body.id}`);
    assert.equal(read.body.saga.status, 'completed');
    assert.deepEqual(
      read.body.saga.steps.map((s) => `${s.name}:${s.status}`),
      ['createOrder:done', 'reserve:done', 'charge:done', 'approve:done'],
    );
    await eventually('inventory to commit the reservation', async () => {
      const { body } = await api<{ reservations: { status: string }[] }>(
        `/api/inventory/reservations?orderId=${placed.body.id}`,
      );
      return body.reservations.length === 1 && body.reservations[0]?.status === 'committed';
    });
    await eventually('payments to record the receipt', async () => {
      const { body } = await api<{ notifications: unknown[] }>(`/api/payments/notifications?orderId=${placed.body.id}`);
      return body.notifications.length === 1;
    });
  });

  it('refuses plain HTTP and TLS without a client certificate at the orders instance', async () => {
    const orders = await urlOf('orders');
    const { ca } = filesOf('orders-1');
    await assert.rejects(fetch(`${orders.replace('https:', 'http:')}/orders`, { signal: AbortSignal.timeout(5000) }));
    // The server's certificate checks out (the SPIFFE ID is orders'); the server refuses us.
    await assert.rejects(callOverTls(`${orders}/orders`, 'orders', { ca }), /certificate required|ECONNRESET/i);
  });

  it('admits the callers the config allows: orders at inventory, not inventory at payments', async () => {
    const inventory = await urlOf('inventory');
    const asOrders = await callOverTls(`${inventory}/items`, 'inventory', filesOf('orders-1'));
    assert.equal(asOrders.status, 200, asOrders.body);
    const payments = await urlOf('payments');
    const asInventory = await callOverTls(`${payments}/payments`, 'payments', filesOf('inventory-1'));
    assert.equal(asInventory.status, 403, asInventory.body);
    assert.equal(JSON.parse(asInventory.body).error.code, 'SY_SERVICE_PEER_NOT_ALLOWED');
  });
});
