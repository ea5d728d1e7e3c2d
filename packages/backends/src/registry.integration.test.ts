import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEtcdRegistry } from '@switchyard/adapter-etcd';
import { isSwitchyardError, type ServiceInstance } from '@switchyard/core';
import {
  createDiscoveryClient,
  createRegistry,
  createRegistryServer,
  type DiscoverySource,
  type Registry,
  type RegistryServer,
} from '@switchyard/discovery';
import { openDiscoverySource, openRegistryBackend } from './registry.ts';

const ETCD = process.env.SWITCHYARD_ETCD_URL ?? 'http://127.0.0.1:23790';
const etcdHost = ETCD.replace(/^https?:\/\//, '');

/** The first list (or error) a source gives for `service`, within 5 s. */
function firstList(source: DiscoverySource, service: string): Promise<readonly ServiceInstance[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`no list of ${service} within 5 s`));
    }, 5000);
    const sub = source.watch(service, {
      next: (instances) => {
        clearTimeout(timer);
        queueMicrotask(() => sub.dispose());
        resolve(instances);
      },
      error: (err) => {
        clearTimeout(timer);
        queueMicrotask(() => sub.dispose());
        reject(err);
      },
    });
  });
}

/** Waits until `check` holds, or fails after 5 s. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const uniquePrefix = (label: string) =>
  `/sy-test-backends/${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}/`;

describe('openRegistryBackend: etcd (real server)', () => {
  before(async () => {
    const probe = createEtcdRegistry({ endpoints: [ETCD], prefix: uniquePrefix('probe'), callTimeout: '2s' });
    try {
      await firstList(probe, 'nothing');
    } catch (err) {
      throw new Error(`etcd is not reachable at ${ETCD} (${String(err)}); start it (see adapters/etcd/README.md)`);
    } finally {
      await probe.close();
    }
  });

  it('registers under the prefix of an etcd:// URL; a config section finds it; close() removes it', async () => {
    const prefix = uniquePrefix('url');
    const backend = await openRegistryBackend(`etcd://${etcdHost}${prefix}?leaseTtl=5s`);
    await backend.register({ Name: 'orders', ID: 'orders-1', Address: '127.0.0.1', Port: 8081 });

    const source = await openDiscoverySource({ backend: 'etcd', url: ETCD, prefix });
    const discovery = createDiscoveryClient({ source });
    try {
      const instances = await discovery.instances('orders');
      assert.deepEqual(
        instances.map((i) => `${i.id}@${i.address}:${i.port}`),
        ['orders-1@127.0.0.1:8081'],
      );
      // Another prefix is another system: it sees nothing.
      const other = await openDiscoverySource({ backend: 'etcd', url: ETCD, prefix: uniquePrefix('other') });
      assert.deepEqual(await firstList(other, 'orders'), []);
      await other.close();

      await backend.close();
      await until(async () => (await discovery.instances('orders')).length === 0, 'orders-1 to go with the lease');
    } finally {
      await discovery.close();
      await backend.close();
    }
  });

  it('reports SY_ETCD_UNAVAILABLE through the watch when nothing listens at the URL', async () => {
    const port = await closedPort();
    const source = await openDiscoverySource(`etcd://127.0.0.1:${port}/x/`);
    try {
      await assert.rejects(firstList(source, 'orders'), (err) => isSwitchyardError(err, 'SY_ETCD_UNAVAILABLE'));
    } finally {
      await source.close();
    }
  });
});

describe('openRegistryBackend: embedded registry', () => {
  let registry: Registry;
  let server: RegistryServer;
  before(async () => {
    registry = createRegistry();
    server = await createRegistryServer({ registry, port: 0 });
  });
  after(async () => {
    await server.close();
    await registry.close();
  });

  it('registers through the Consul API of an http URL, and discovers through it', async () => {
    const backend = await openRegistryBackend(server.url);
    try {
      await backend.register({ Name: 'payments', ID: 'payments-1', Address: '127.0.0.1', Port: 8082 });
      assert.equal(registry.service('payments-1')?.Port, 8082);
      const instances = await firstList(backend, 'payments');
      assert.deepEqual(
        instances.map((i) => i.id),
        ['payments-1'],
      );
      assert.equal(await backend.deregister('payments-1'), true);
      assert.equal(registry.service('payments-1'), undefined);
    } finally {
      await backend.close();
    }
  });

  it('uses the in-process registry for backend: embedded when given, else its host and port', async () => {
    const inProcess = await openRegistryBackend({ backend: 'embedded' }, { registry });
    await inProcess.register({ Name: 'inventory', ID: 'inventory-1', Address: '127.0.0.1', Port: 8083 });
    assert.equal(registry.service('inventory-1')?.Port, 8083);
    await inProcess.close();

    const port = Number(new URL(server.url).port);
    const overHttp = await openDiscoverySource({ host: '127.0.0.1', port });
    try {
      assert.deepEqual(
        (await firstList(overHttp, 'inventory')).map((i) => i.id),
        ['inventory-1'],
      );
    } finally {
      await overHttp.close();
    }
  });

  it('reports an unreachable Consul API through the watch', async () => {
    const port = await closedPort();
    const source = await openDiscoverySource({ backend: 'consul', url: `http://127.0.0.1:${port}` });
    try {
      await assert.rejects(firstList(source, 'orders'), (err) => isSwitchyardError(err));
    } finally {
      await source.close();
    }
  });
});

describe('openDiscoverySource: kubernetes', () => {
  const slices = {
    kind: 'EndpointSliceList',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: { resourceVersion: '7' },
    items: [
      {
        kind: 'EndpointSlice',
        apiVersion: 'discovery.k8s.io/v1',
        metadata: {
          name: 'orders-a1',
          namespace: 'shop',
          resourceVersion: '7',
          labels: { 'kubernetes.io/service-name': 'orders' },
        },
        addressType: 'IPv4',
        endpoints: [
          {
            addresses: ['10.244.0.7'],
            conditions: { ready: true },
            targetRef: { kind: 'Pod', name: 'orders-7f9', namespace: 'shop' },
          },
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ],
  };
  const paths: string[] = [];
  const api = createServer((req, res) => {
    paths.push(req.url ?? '');
    if (/[?&]watch=(true|1)/.test(req.url ?? '')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      return; // an open watch with no events
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(slices));
  });
  let dir: string;
  let savedKubeconfig: string | undefined;
  before(async () => {
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const { port } = api.address() as AddressInfo;
    dir = mkdtempSync(join(tmpdir(), 'sy-backends-k8s-'));
    const file = join(dir, 'kubeconfig');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: local, cluster: { server: "http://127.0.0.1:' +
          String(port) +
          '", insecure-skip-tls-verify: true } }]',
        'users: [{ name: me, user: { token: t } }]',
        'contexts: [{ name: local, context: { cluster: local, user: me, namespace: default } }]',
        'current-context: local',
        '',
      ].join('\n'),
    );
    savedKubeconfig = process.env.KUBECONFIG;
    process.env.KUBECONFIG = file;
  });
  after(async () => {
    if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = savedKubeconfig;
    api.closeAllConnections();
    await new Promise<void>((resolve) => api.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the EndpointSlices of the configured namespace and port', async () => {
    const source = await openDiscoverySource({ backend: 'kubernetes', namespace: 'shop', port: 'http' });
    try {
      const instances = await firstList(source, 'orders');
      assert.deepEqual(
        instances.map((i) => `${i.address}:${i.port}`),
        ['10.244.0.7:8080'],
      );
      assert.ok(paths.some((p) => p.startsWith('/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices')));
    } finally {
      await source.close();
    }
  });

  it('is read-only: openRegistryBackend names registry.backend', async () => {
    await assert.rejects(
      openRegistryBackend({ backend: 'kubernetes' }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') && /registry\.backend: kubernetes is read-only/.test(err.message),
    );
  });
});

describe('openRegistryBackend: bad input', () => {
  it('names SWITCHYARD_REGISTRY_URL for a URL of no registry', async () => {
    await assert.rejects(
      openRegistryBackend('redis://127.0.0.1:6379'),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        /SWITCHYARD_REGISTRY_URL: unsupported registry URL "redis:\/\/127\.0\.0\.1:6379"/.test(err.message),
    );
  });

  it('names the field given for a bad section', async () => {
    await assert.rejects(
      openDiscoverySource({ backend: 'etcd', prefix: 'no-slash' }, { field: 'system.registry' }),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /system\.registry\.prefix: /.test(err.message),
    );
  });
});

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
