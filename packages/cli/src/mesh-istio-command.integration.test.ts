import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CommandIo } from './mesh-envoy-command.ts';
import { MeshIstioExit, type MeshIstioOptions, runMeshIstio } from './mesh-istio-command.ts';

const shopConfig = fileURLToPath(new URL('../../../examples/shop/switchyard.yaml', import.meta.url));
/** Recorded API-server responses, shared with the Kubernetes adapter's tests. */
const fixtures = new URL('../../../adapters/kubernetes/src/fixtures/', import.meta.url);

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: { kind?: string; metadata?: { name?: string; namespace?: string } } | undefined;
}

/**
 * A loopback stand-in for the API server that replays recorded responses: the discovery
 * document of networking.istio.io/v1, then `answer(path)` for each PATCH. A kubeconfig file
 * pointing at it is written to a temporary directory.
 */
async function startReplay(t: TestContext, answer: (path: string) => { status: number; fixture: string }) {
  const seen: Seen[] = [];
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
      const reply =
        req.method === 'GET' && url.pathname === '/apis/networking.istio.io/v1'
          ? { status: 200, fixture: 'apply-resources-networking-istio-v1.json' }
          : answer(url.pathname);
      res.writeHead(reply.status, { 'Content-Type': 'application/json' });
      res.end(readFileSync(new URL(reply.fixture, fixtures)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'sy-mesh-istio-apply-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  const { port } = server.address() as AddressInfo;
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
  - name: recorded
    cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true }
users:
  - name: tester
    user: { token: recorded-token }
contexts:
  - name: recorded
    context: { cluster: recorded, user: tester, namespace: shop }
  - name: staging
    context: { cluster: recorded, user: tester, namespace: staging }
current-context: recorded
`,
  );
  return { seen, kubeconfig };
}

async function run(opts: Partial<MeshIstioOptions>) {
  let out = '';
  let err = '';
  const io: CommandIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  };
  const code = await runMeshIstio({ config: shopConfig, namespace: 'shop', ...opts }, io);
  return { code, out, err };
}

const ok = (path: string) =>
  path.includes('/virtualservices/')
    ? { status: 201, fixture: 'apply-virtualservice-201.json' }
    : { status: 200, fixture: 'apply-destinationrule-200.json' };

describe('switchyard mesh istio --apply (recorded API-server responses)', () => {
  it('server-side applies every resource with the field manager and force', async (t) => {
    const api = await startReplay(t, ok);
    const { code, out, err } = await run({ apply: true, kubeconfig: api.kubeconfig, force: true });
    assert.equal(code, MeshIstioExit.Ok, err);
    assert.equal(
      out,
      [
        'virtualservice.networking.istio.io/orders created (server-side apply)',
        'virtualservice.networking.istio.io/inventory created (server-side apply)',
        'virtualservice.networking.istio.io/payments created (server-side apply)',
        'destinationrule.networking.istio.io/orders configured (server-side apply)',
        'destinationrule.networking.istio.io/inventory configured (server-side apply)',
        'destinationrule.networking.istio.io/payments configured (server-side apply)',
        '',
      ].join('\n'),
    );
    const patches = api.seen.filter((r) => r.method === 'PATCH');
    assert.deepEqual(
      patches.map((r) => r.url),
      [
        '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/orders?fieldManager=switchyard&force=true',
        '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/inventory?fieldManager=switchyard&force=true',
        '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/payments?fieldManager=switchyard&force=true',
        '/apis/networking.istio.io/v1/namespaces/shop/destinationrules/orders?fieldManager=switchyard&force=true',
        '/apis/networking.istio.io/v1/namespaces/shop/destinationrules/inventory?fieldManager=switchyard&force=true',
        '/apis/networking.istio.io/v1/namespaces/shop/destinationrules/payments?fieldManager=switchyard&force=true',
      ],
    );
    for (const patch of patches) assert.equal(patch.contentType, 'application/apply-patch+yaml');
    assert.deepEqual(
      [patches[0]?.body?.kind, patches[0]?.body?.metadata?.name, patches[0]?.body?.metadata?.namespace],
      ['VirtualService', 'orders', 'shop'],
    );
  });

  it('passes --context, --field-manager and --dry-run=server', async (t) => {
    const api = await startReplay(t, ok);
    const { code, out, err } = await run({
      namespace: 'staging',
      apply: true,
      kubeconfig: api.kubeconfig,
      context: 'staging',
      fieldManager: 'platform',
      dryRun: 'server',
    });
    assert.equal(code, MeshIstioExit.Ok, err);
    assert.match(out, /^virtualservice\.networking\.istio\.io\/orders created \(server dry run\)\n/);
    assert.equal(
      api.seen.find((r) => r.method === 'PATCH')?.url,
      '/apis/networking.istio.io/v1/namespaces/staging/virtualservices/orders?dryRun=All&fieldManager=platform',
    );
  });

  it('exits 1 with the API server’s 422 and 403 messages, after applying the rest', async (t) => {
    const api = await startReplay(t, (path) =>
      path.endsWith('/virtualservices/orders')
        ? { status: 422, fixture: 'apply-status-422.json' }
        : path.endsWith('/destinationrules/orders')
          ? { status: 403, fixture: 'apply-status-403.json' }
          : ok(path),
    );
    const { code, out, err } = await run({ apply: true, kubeconfig: api.kubeconfig });
    assert.equal(code, MeshIstioExit.Invalid);
    assert.match(
      err,
      /error: virtualservice\.networking\.istio\.io\/orders: 422 Invalid: VirtualService\.networking\.istio\.io "orders" is invalid/,
    );
    assert.match(err, /\n {2}spec\.http\[0\]\.timeout: Invalid value/);
    assert.match(
      err,
      /error: destinationrule\.networking\.istio\.io\/orders: 403 Forbidden: .*cannot patch resource "destinationrules"/,
    );
    assert.match(err, /2 of 6 resources not applied\n$/);
    assert.equal(out.split('\n').filter(Boolean).length, 4);
    assert.equal(api.seen.filter((r) => r.method === 'PATCH').length, 6);
  });

  it('exits 1 when the Istio CRDs are missing (404 on the API group)', async (t) => {
    // PeerAuthentication lives in security.istio.io, which this recorded server does not serve.
    const api = await startReplay(t, (path) =>
      path === '/apis/security.istio.io/v1' ? { status: 404, fixture: 'apply-status-404-group.json' } : ok(path),
    );
    const { code, err } = await run({ apply: true, kubeconfig: api.kubeconfig, mtls: true });
    assert.equal(code, MeshIstioExit.Invalid);
    assert.match(
      err,
      /error: peerauthentication\.security\.istio\.io\/default: 404 NotFound: the API server does not serve this API group\/version \(is the CRD installed\?\)/,
    );
    assert.match(err, /error: authorizationpolicy\.security\.istio\.io\/orders-allow-gateway: 404 NotFound/);
    assert.match(err, /4 of 10 resources not applied\n$/);
  });

  it('exits 2 for a context the kubeconfig does not have', async (t) => {
    const api = await startReplay(t, ok);
    const { code, err } = await run({ apply: true, kubeconfig: api.kubeconfig, context: 'prod' });
    assert.equal(code, MeshIstioExit.Usage);
    assert.match(
      err,
      /SY_KUBERNETES_APPLY_CONFIG: cannot load the kubeconfig: no context "prod" \(have: recorded, staging\)/,
    );
    assert.equal(api.seen.length, 0);
  });
});
