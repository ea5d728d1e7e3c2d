import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { isSwitchyardError } from '@switchyard/core';
import { serverSideApply } from './server-side-apply.ts';

/** A recorded API-server answer: status and the fixture whose text is the body. */
interface Recorded {
  readonly status: number;
  readonly fixture: string;
}

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

/**
 * A loopback server replaying recorded API-server responses: each `METHOD path` has a queue
 * of answers; a request with none queued gets a 500 Status, so a test sees it.
 */
async function startReplayServer() {
  const seen: SeenRequest[] = [];
  const queues = new Map<string, Recorded[]>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const text = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        url: `${url.pathname}${url.search}`,
        contentType: req.headers['content-type'],
        body: text === '' ? undefined : JSON.parse(text),
      });
      const reply = queues.get(`${req.method} ${url.pathname}`)?.shift();
      res.writeHead(reply?.status ?? 500, { 'Content-Type': 'application/json' });
      res.end(
        reply === undefined
          ? '{"kind":"Status","apiVersion":"v1","status":"Failure","code":500,"message":"nothing recorded"}'
          : fixture(reply.fixture),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'recorded', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'recorded-token' }],
    contexts: [
      { name: 'recorded', cluster: 'recorded', user: 'tester', namespace: 'shop' },
      { name: 'other', cluster: 'recorded', user: 'tester', namespace: 'other' },
    ],
    currentContext: 'recorded',
  });
  return {
    port,
    kubeConfig,
    seen,
    on(method: string, path: string, ...replies: Recorded[]) {
      queues.set(`${method} ${path}`, [...(queues.get(`${method} ${path}`) ?? []), ...replies]);
    },
    reset() {
      seen.length = 0;
      queues.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const virtualService: KubernetesObject & { spec: unknown } = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'orders', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'switchyard' } },
  spec: {
    hosts: ['orders.shop.svc.cluster.local'],
    http: [{ name: 'default', route: [{ destination: { host: 'orders.shop.svc.cluster.local' } }] }],
  },
};
const destinationRule: KubernetesObject & { spec: unknown } = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'orders', namespace: 'shop' },
  spec: { host: 'orders.shop.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } },
};
const peerAuthentication: KubernetesObject & { spec: unknown } = {
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name: 'default', namespace: 'shop' },
  spec: { mtls: { mode: 'STRICT' } },
};

const NETWORKING = '/apis/networking.istio.io/v1';
const VS_PATH = `${NETWORKING}/namespaces/shop/virtualservices/orders`;
const DR_PATH = `${NETWORKING}/namespaces/shop/destinationrules/orders`;

describe('serverSideApply (recorded API-server responses)', () => {
  let api: Awaited<ReturnType<typeof startReplayServer>>;
  before(async () => {
    api = await startReplayServer();
  });
  after(() => api.close());

  it('PATCHes each object with apply-patch+yaml, fieldManager and force; tells created from configured', async () => {
    api.reset();
    api.on('GET', NETWORKING, { status: 200, fixture: 'apply-resources-networking-istio-v1.json' });
    api.on('PATCH', VS_PATH, { status: 201, fixture: 'apply-virtualservice-201.json' });
    api.on('PATCH', DR_PATH, { status: 200, fixture: 'apply-destinationrule-200.json' });
    const results = await serverSideApply([virtualService, destinationRule], {
      kubeConfig: api.kubeConfig,
      force: true,
    });
    assert.deepEqual(
      results.map((r) => (r.ok ? `${r.kind}/${r.name} ${r.result}` : `${r.kind}/${r.name} failed ${r.message}`)),
      ['VirtualService/orders created', 'DestinationRule/orders configured'],
    );
    const [created] = results;
    assert.equal(
      created?.ok === true ? created.object.metadata?.uid : undefined,
      '3f6a2c1e-8d4b-4f7e-9a51-2b0c6e9d7f10',
    );
    // The group's resources are looked up once, then each object is applied.
    assert.deepEqual(
      api.seen.map((r) => `${r.method} ${r.url}`),
      [
        `GET ${NETWORKING}`,
        `PATCH ${VS_PATH}?fieldManager=switchyard&force=true`,
        `PATCH ${DR_PATH}?fieldManager=switchyard&force=true`,
      ],
    );
    assert.equal(api.seen[1]?.contentType, 'application/apply-patch+yaml');
    assert.deepEqual(api.seen[1]?.body, virtualService);
    assert.deepEqual(api.seen[2]?.body, destinationRule);
  });

  it('sends dryRun=All and a chosen field manager, without force by default', async () => {
    api.reset();
    api.on('GET', NETWORKING, { status: 200, fixture: 'apply-resources-networking-istio-v1.json' });
    api.on('PATCH', VS_PATH, { status: 200, fixture: 'apply-virtualservice-201.json' });
    const [result] = await serverSideApply([virtualService], {
      kubeConfig: api.kubeConfig,
      dryRun: true,
      fieldManager: 'platform',
    });
    assert.equal(result?.ok, true);
    assert.equal(api.seen[1]?.url, `${VS_PATH}?dryRun=All&fieldManager=platform`);
  });

  it('reports a 422 Invalid with its causes and a 403 Forbidden, and still applies the rest', async () => {
    api.reset();
    api.on('GET', NETWORKING, { status: 200, fixture: 'apply-resources-networking-istio-v1.json' });
    api.on('PATCH', VS_PATH, { status: 422, fixture: 'apply-status-422.json' });
    api.on('PATCH', DR_PATH, { status: 403, fixture: 'apply-status-403.json' });
    const results = await serverSideApply([virtualService, destinationRule], { kubeConfig: api.kubeConfig });
    const [invalid, forbidden] = results;
    assert.ok(invalid !== undefined && !invalid.ok);
    assert.equal(invalid.status, 422);
    assert.equal(invalid.reason, 'Invalid');
    assert.match(
      invalid.message,
      /^VirtualService\.networking\.istio\.io "orders" is invalid: spec\.http\[0\]\.timeout/,
    );
    assert.match(invalid.message, /\nspec\.http\[0\]\.timeout: Invalid value/);
    assert.ok(forbidden !== undefined && !forbidden.ok);
    assert.deepEqual([forbidden.status, forbidden.reason], [403, 'Forbidden']);
    assert.match(forbidden.message, /cannot patch resource "destinationrules" in API group "networking\.istio\.io"/);
    assert.equal(api.seen.filter((r) => r.method === 'PATCH').length, 2);
  });

  it('reports a 404 for an API group the cluster does not serve (Istio CRDs missing)', async () => {
    api.reset();
    api.on('GET', '/apis/security.istio.io/v1', { status: 404, fixture: 'apply-status-404-group.json' });
    const [result] = await serverSideApply([peerAuthentication], { kubeConfig: api.kubeConfig });
    assert.ok(result !== undefined && !result.ok);
    assert.deepEqual([result.status, result.reason], [404, 'NotFound']);
    assert.match(result.message, /is the CRD installed\?/);
    assert.deepEqual(
      api.seen.map((r) => `${r.method} ${r.url}`),
      ['GET /apis/security.istio.io/v1'],
    );
  });

  it('reports an API server that cannot be reached', async () => {
    const closed = await startReplayServer();
    const kubeConfig = closed.kubeConfig;
    await closed.close();
    const [result] = await serverSideApply([virtualService], { kubeConfig });
    assert.ok(result !== undefined && !result.ok);
    assert.deepEqual([result.status, result.reason], [0, 'Unreachable']);
  });

  it('fails with SY_KUBERNETES_APPLY_CONFIG for an unknown context or kubeconfig file', async () => {
    await assert.rejects(
      serverSideApply([virtualService], { kubeConfig: api.kubeConfig, context: 'prod' }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_KUBERNETES_APPLY_CONFIG') &&
        err.message.includes('no context "prod" (have: recorded, other)'),
    );
    await assert.rejects(serverSideApply([virtualService], { kubeconfig: '/nonexistent/kubeconfig' }), (err: unknown) =>
      isSwitchyardError(err, 'SY_KUBERNETES_APPLY_CONFIG'),
    );
  });
});
