import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateIstioResources } from '@switchyard/mesh';
import { parse, parseAllDocuments } from 'yaml';
import type { CommandIo } from './mesh-envoy-command.ts';
import { MeshIstioExit, type MeshIstioIo, type MeshIstioOptions, runMeshIstio } from './mesh-istio-command.ts';

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

/** A rollout as `GET /admin/rollouts` lists it. */
function rolloutView(name: string, route: string, phase: string, canaryWeight: number, step = 1) {
  return {
    name,
    route,
    stable: 'v1',
    canary: 'v2',
    strategy: 'canary',
    steps: [10, 25, 50, 100],
    phase,
    step: phase === 'idle' ? -1 : step,
    canaryWeight,
    ...(phase === 'idle'
      ? {}
      : {
          split: [
            { subset: 'v1', weight: 100 - canaryWeight },
            { subset: 'v2', weight: canaryWeight },
          ],
        }),
    version: 3,
    controller: false,
    history: [],
  };
}

/** Runs the command with `fetch` answered by `answer` (or failing when it is an Error); records the requests. */
async function runWithAdmin(
  opts: Partial<MeshIstioOptions>,
  answer: { status: number; body: unknown } | Error,
  env: Record<string, string> = {},
) {
  let out = '';
  let err = '';
  const requests: { url: string; authorization: string | null }[] = [];
  const io: MeshIstioIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env,
    fetch: async (input, init) => {
      requests.push({ url: String(input), authorization: new Headers(init?.headers).get('authorization') });
      if (answer instanceof Error) throw answer;
      return new Response(JSON.stringify(answer.body), { status: answer.status });
    },
  };
  const code = await runMeshIstio({ config: shopConfig, ...opts }, io);
  return { code, out, err, requests };
}

describe('switchyard mesh istio --rollouts', () => {
  const host = 'orders.shop.svc.cluster.local';
  const routesOf = (out: string) => {
    const [first] = parseAllDocuments(out).map((d) => d.toJSON() as Resource);
    assert.equal(first?.kind, 'VirtualService');
    // biome-ignore lint/suspicious/noExplicitAny: untyped Istio JSON
    return (first as Resource).spec.http.map((h: any) => [h.name, h.route]);
  };

  it("gives a rolled-out route the rollout's current weights, keeps its matches, leaves idle rollouts as configured", async (t) => {
    const file = join(tempDir(t), 'switchyard.yaml');
    writeFileSync(file, trafficConfig);
    const { code, out, err, requests } = await runWithAdmin(
      { config: file, namespace: 'shop', rollouts: 'http://gw-admin.internal:9901/' },
      {
        status: 200,
        body: {
          rollouts: [
            rolloutView('orders', '/api/orders', 'progressing', 25),
            rolloutView('v2', '/v2/orders', 'idle', 0),
          ],
        },
      },
      { SWITCHYARD_ADMIN_TOKEN: 'read-token-0123456789' },
    );
    assert.equal(code, MeshIstioExit.Ok, err);
    assert.deepEqual(requests, [
      { url: 'http://gw-admin.internal:9901/admin/rollouts', authorization: 'Bearer read-token-0123456789' },
    ]);
    assert.equal(
      err,
      'rollout orders: route /api/orders at v1 75%, v2 25% (progressing, step 2 of 4, version 3)\n',
      'one note per rollout applied, on stderr',
    );
    const resources = parseAllDocuments(out).map((d) => d.toJSON() as Resource);
    assert.deepEqual(validateIstioResources(resources), []);
    assert.deepEqual(routesOf(out), [
      ['/api/orders-match-0', [{ destination: { host, subset: 'v2' } }]],
      [
        '/api/orders',
        [
          { destination: { host, subset: 'v1' }, weight: 75 },
          { destination: { host, subset: 'v2' }, weight: 25 },
        ],
      ],
      ['/v2/orders', [{ destination: { host, subset: 'v2' } }]],
      ['default', [{ destination: { host } }]],
    ]);
  });

  it('turns a fixed subset into the split, and exports promoted (canary 100) and aborted (stable 100) as valid weights', async (t) => {
    const file = join(tempDir(t), 'switchyard.yaml');
    writeFileSync(file, trafficConfig);
    const { code, out, err } = await runWithAdmin(
      { config: file, namespace: 'shop', rollouts: 'http://127.0.0.1:9901' },
      {
        status: 200,
        body: {
          rollouts: [
            rolloutView('orders', '/api/orders', 'promoted', 100, 3),
            { ...rolloutView('v2', '/v2/orders', 'aborted', 0, 0), stable: 'v2', canary: 'v1' },
          ],
        },
      },
    );
    assert.equal(code, MeshIstioExit.Ok, err);
    assert.deepEqual(validateIstioResources(parseAllDocuments(out).map((d) => d.toJSON() as Resource)), []);
    const routes = routesOf(out);
    assert.deepEqual(routes[1], [
      '/api/orders',
      [
        { destination: { host, subset: 'v1' }, weight: 0 },
        { destination: { host, subset: 'v2' }, weight: 100 },
      ],
    ]);
    assert.deepEqual(routes[2], [
      '/v2/orders',
      [
        { destination: { host, subset: 'v1' }, weight: 100 },
        { destination: { host, subset: 'v2' }, weight: 0 },
      ],
    ]);
    assert.match(err, /rollout orders: route \/api\/orders at v1 0%, v2 100% \(promoted, step 4 of 4, version 3\)/);
  });

  it('finds the admin API in the config without a URL (gateway.admin when admin is false)', async (t) => {
    const file = join(tempDir(t), 'switchyard.yaml');
    writeFileSync(
      file,
      trafficConfig.replace('gateway:\n', 'admin: false\ngateway:\n  admin:\n    host: 127.0.0.1\n    port: 9911\n'),
    );
    const { code, err, requests } = await runWithAdmin(
      { config: file, rollouts: true },
      {
        status: 200,
        body: { rollouts: [] },
      },
    );
    assert.equal(code, MeshIstioExit.Ok, err);
    assert.deepEqual(
      requests.map((r) => r.url),
      ['http://127.0.0.1:9911/admin/rollouts'],
    );
  });

  it('exits 1 naming the rollout when the gateway rolls out a route the config does not have', async (t) => {
    const file = join(tempDir(t), 'switchyard.yaml');
    writeFileSync(file, trafficConfig);
    const { code, out, err } = await runWithAdmin(
      { config: file, rollouts: 'http://127.0.0.1:9901' },
      { status: 200, body: { rollouts: [rolloutView('carts', 'carts', 'progressing', 10, 0)] } },
    );
    assert.equal(code, MeshIstioExit.Invalid);
    assert.equal(out, '');
    assert.match(
      err,
      /the gateway's rollouts do not fit .*switchyard\.yaml:\n {2}rollouts\.carts\.route: the gateway rolls out route "carts", which has no Istio route here \(is -c the config that gateway runs\?\)/,
    );
  });

  it('exits 1 naming an unknown subset when the rollout moves a subset the config lacks', async (t) => {
    const file = join(tempDir(t), 'switchyard.yaml');
    writeFileSync(file, trafficConfig);
    const view = rolloutView('orders', '/api/orders', 'progressing', 25);
    const { code, err } = await runWithAdmin(
      { config: file, rollouts: 'http://127.0.0.1:9901' },
      {
        status: 200,
        body: {
          rollouts: [
            {
              ...view,
              canary: 'v3',
              split: [
                { subset: 'v1', weight: 75 },
                { subset: 'v3', weight: 25 },
              ],
            },
          ],
        },
      },
    );
    assert.equal(code, MeshIstioExit.Invalid);
    assert.match(err, /istio\.traffic\./);
    assert.match(err, /unknown subset "v3" of orders \(known: v1, v2\)/);
  });

  it('exits 1 when the admin API is unreachable or refuses, 2 for a --rollouts that is not a URL', async (t) => {
    const file = join(tempDir(t), 'switchyard.yaml');
    writeFileSync(file, trafficConfig);
    const down = await runWithAdmin(
      { config: file, rollouts: 'http://127.0.0.1:9' },
      new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') }),
    );
    assert.equal(down.code, MeshIstioExit.Invalid);
    assert.equal(down.out, '');
    assert.match(
      down.err,
      /^error SY_CLI_ADMIN_UNREACHABLE: cannot reach the admin API at http:\/\/127\.0\.0\.1:9 \(connect ECONNREFUSED/,
    );
    assert.match(down.err, /or pass --rollouts <admin-url> of the one running/);

    const refused = await runWithAdmin(
      { config: file, rollouts: 'http://127.0.0.1:9901' },
      {
        status: 401,
        body: { error: { code: 'SY_GATEWAY_ADMIN_UNAUTHORIZED', message: 'a bearer token is required' } },
      },
    );
    assert.equal(refused.code, MeshIstioExit.Invalid);
    assert.match(refused.err, /error SY_GATEWAY_ADMIN_UNAUTHORIZED: a bearer token is required\n/);
    assert.match(refused.err, /SWITCHYARD_ADMIN_TOKEN/);

    const bad = await runWithAdmin({ config: file, rollouts: 'gw-admin:9901' }, { status: 200, body: {} });
    assert.equal(bad.code, MeshIstioExit.Usage);
    assert.match(bad.err, /--rollouts: expected the admin API URL of a running gateway/);
    assert.equal(bad.requests.length, 0);
  });
});
