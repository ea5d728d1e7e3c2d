import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateIstioResources } from '@switchyard/mesh';
import { parse, parseAllDocuments } from 'yaml';
import type { CommandIo } from './mesh-envoy-command.ts';
import { MeshIstioExit, type MeshIstioOptions, runMeshIstio } from './mesh-istio-command.ts';

const shopConfig = fileURLToPath(new URL('../../../examples/shop/switchyard.yaml', import.meta.url));

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
  const code = await runMeshIstio({ config: shopConfig, ...opts }, io);
  return { code, out, err };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-mesh-istio-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  // biome-ignore lint/suspicious/noExplicitAny: assertions walk untyped Istio JSON
  spec: Record<string, any>;
}

const ids = (resources: readonly Resource[]) => resources.map((r) => `${r.kind}/${r.metadata.name}`);

const trafficConfig = `version: 1
name: shop
gateway:
  subsets:
    orders:
      v1: { meta: { version: v1 } }
      v2: { meta: { version: v2 } }
  routes:
    - path: /api/orders
      service: orders
      timeout: 2s
      traffic:
        split: [{ subset: v1, weight: 90 }, { subset: v2, weight: 10 }]
        match: [{ header: x-api-version, value: "2", subset: v2 }]
    - path: /v2/orders
      service: orders
      traffic: { subset: v2 }
`;

describe('switchyard mesh istio', () => {
  it("prints valid multi-document YAML for the shop's switchyard.yaml", async () => {
    const { code, out, err } = await run({ namespace: 'shop' });
    assert.equal(code, MeshIstioExit.Ok, err);
    assert.equal(err, '');
    const resources = parseAllDocuments(out).map((d) => d.toJSON() as Resource);
    assert.deepEqual(validateIstioResources(resources), []);
    assert.deepEqual(ids(resources), [
      'VirtualService/orders',
      'VirtualService/inventory',
      'VirtualService/payments',
      'DestinationRule/orders',
      'DestinationRule/inventory',
      'DestinationRule/payments',
    ]);
    const orders = resources[0] as Resource;
    assert.equal(orders.metadata.namespace, 'shop');
    assert.deepEqual(orders.spec.hosts, ['orders.shop.svc.cluster.local']);
    assert.deepEqual(orders.spec.http[0].match, [
      { uri: { exact: '/api/orders' } },
      { uri: { prefix: '/api/orders/' } },
    ]);
    assert.deepEqual(orders.spec.http[0].rewrite, { uri: '/' });
    assert.equal(orders.spec.http[0].timeout, '30s', "the gateway's 30s timeout");
  });

  it('with --mtls -o json: a List with STRICT PeerAuthentication and AuthorizationPolicies for the gateway account', async () => {
    const { code, out, err } = await run({
      namespace: 'shop',
      mtls: true,
      output: 'json',
      gatewayServiceAccount: 'edge/gateway',
    });
    assert.equal(code, MeshIstioExit.Ok, err);
    const list = JSON.parse(out) as { kind: string; items: Resource[] };
    assert.equal(list.kind, 'List');
    assert.deepEqual(validateIstioResources(list.items), []);
    assert.deepEqual(ids(list.items).slice(6), [
      'PeerAuthentication/default',
      'AuthorizationPolicy/orders-allow-gateway',
      'AuthorizationPolicy/inventory-allow-gateway',
      'AuthorizationPolicy/payments-allow-gateway',
    ]);
    assert.deepEqual(list.items[6]?.spec, { mtls: { mode: 'STRICT' } });
    assert.deepEqual(list.items[7]?.spec.rules, [
      { from: [{ source: { principals: ['cluster.local/ns/edge/sa/gateway'] } }] },
    ]);
    assert.deepEqual(list.items[3]?.spec.trafficPolicy.tls, { mode: 'ISTIO_MUTUAL' });
  });

  it('writes one file per resource with --out', async (t) => {
    const dir = tempDir(t);
    const { code, err } = await run({ namespace: 'shop', gatewayHost: 'shop.example.com', out: dir });
    assert.equal(code, MeshIstioExit.Ok, err);
    assert.match(err, /wrote 8 files to /);
    assert.deepEqual(readdirSync(dir).sort(), [
      'destinationrule-inventory.yaml',
      'destinationrule-orders.yaml',
      'destinationrule-payments.yaml',
      'gateway-shop-gateway.yaml',
      'virtualservice-inventory.yaml',
      'virtualservice-orders.yaml',
      'virtualservice-payments.yaml',
      'virtualservice-shop-gateway.yaml',
    ]);
    const gateway = parse(readFileSync(join(dir, 'gateway-shop-gateway.yaml'), 'utf8')) as Resource;
    assert.deepEqual(gateway.spec.servers[0].hosts, ['shop.example.com']);
  });

  it('maps gateway subsets and traffic splits to subsets and weighted routes', async (t) => {
    const file = join(tempDir(t), 'switchyard.yaml');
    writeFileSync(file, trafficConfig);
    const { code, out, err } = await run({ config: file, namespace: 'shop' });
    assert.equal(code, MeshIstioExit.Ok, err);
    const [vs, dr] = parseAllDocuments(out).map((d) => d.toJSON() as Resource);
    const host = 'orders.shop.svc.cluster.local';
    assert.deepEqual(
      // biome-ignore lint/suspicious/noExplicitAny: untyped Istio JSON
      vs?.spec.http.map((h: any) => [h.name, h.route]),
      [
        ['/api/orders-match-0', [{ destination: { host, subset: 'v2' } }]],
        [
          '/api/orders',
          [
            { destination: { host, subset: 'v1' }, weight: 90 },
            { destination: { host, subset: 'v2' }, weight: 10 },
          ],
        ],
        ['/v2/orders', [{ destination: { host, subset: 'v2' } }]],
        ['default', [{ destination: { host } }]],
      ],
    );
    assert.deepEqual(vs?.spec.http[0].match[0].headers, { 'x-api-version': { exact: '2' } });
    assert.deepEqual(dr?.spec.subsets, [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ]);
  });

  it('exits 1 naming the subset when a subset selects by tags alone', async (t) => {
    const file = join(tempDir(t), 'switchyard.yaml');
    writeFileSync(file, trafficConfig.replace('v2: { meta: { version: v2 } }', 'v2: { tags: [canary] }'));
    const { code, out, err } = await run({ config: file });
    assert.equal(code, MeshIstioExit.Invalid);
    assert.equal(out, '');
    assert.match(
      err,
      /cannot be expressed in Istio:\n {2}gateway\.subsets\.orders\.v2\.tags: Istio subsets select pods by labels/,
    );
  });

  it('exits 1 listing every invalid resource field', async () => {
    const { code, out, err } = await run({ gatewayHost: 'shop_example.com' });
    assert.equal(code, MeshIstioExit.Invalid);
    assert.equal(out, '');
    assert.match(err, /^invalid Istio resources:\n/);
    assert.match(err, /\n {2}Gateway\/shop-gateway: \/spec\/servers\/0\/hosts\/0: expected a DNS-1123 host name/);
    assert.match(err, /\n {2}VirtualService\/shop-gateway: \/spec\/hosts\/0: expected a DNS-1123 host name/);
  });

  it('exits 2 for bad flags and a missing config', async () => {
    const cases: [Partial<MeshIstioOptions>, RegExp][] = [
      [{ output: 'xml' }, /-o: expected yaml or json, got "xml"/],
      [{ namespace: 'Shop' }, /--namespace: expected a DNS-1123 label/],
      [{ force: true, context: 'prod' }, /--context, --force need --apply/],
      [{ apply: true, dryRun: 'client' }, /--dry-run: only "server" is supported/],
      [{ apply: true, out: '/tmp/x' }, /give either --apply or --out/],
      [{ gatewayServiceAccount: 'a/b/c' }, /--gateway-service-account: expected <name> or <namespace>\/<name>/],
      [{ config: '/nonexistent/switchyard.yaml' }, /SY_CLI_CONFIG_NOT_FOUND: cannot read config file/],
    ];
    for (const [opts, message] of cases) {
      const { code, out, err } = await run(opts);
      assert.equal(code, MeshIstioExit.Usage, `${JSON.stringify(opts)}: ${err}`);
      assert.equal(out, '');
      assert.match(err, message);
    }
  });
});
