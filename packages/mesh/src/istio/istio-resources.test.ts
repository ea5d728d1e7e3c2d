import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { parseAllDocuments } from 'yaml';
import type { MeshConfig } from '../mesh-config.ts';
import { generateIstioResources, istioDuration, istioWeightsFor } from './istio-resources.ts';
import type { IstioResource } from './istio-validate.ts';
import { istioFileName, toIstioJson, toIstioYaml } from './istio-yaml.ts';

const mesh: MeshConfig = {
  name: 'shop',
  routes: [
    {
      name: 'orders',
      match: { prefix: '/api/orders' },
      service: 'orders',
      rewritePrefix: '/',
      timeout: '5s',
      retry: { attempts: 3, perTryTimeout: '1s', statuses: [503] },
    },
    {
      name: 'order-by-id',
      match: {
        regex: '^/o/[^/]+$',
        headers: { 'X-Tenant': 'acme', 'x-debug': { present: false } },
        methods: ['GET', 'HEAD'],
      },
      service: 'orders',
      hosts: ['api.example.com'],
    },
    {
      name: 'inventory',
      match: { path: '/api/inventory' },
      service: 'inventory',
      rewrite: { regex: '^/api/(.*)$', substitution: '/\\1' },
      timeout: 0,
    },
    { name: 'payments', match: { prefix: '/api/payments' }, service: 'payments', rewritePrefix: '/v1' },
  ],
  clusters: {
    orders: {
      lbPolicy: 'least_request',
      connectTimeout: '250ms',
      circuitBreaker: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 50, maxRetries: 3 },
      outlierDetection: {
        consecutive5xx: 5,
        interval: '10s',
        baseEjectionTime: '30s',
        maxEjectionPercent: 50,
        failurePercentage: 40,
      },
    },
    inventory: { lbPolicy: 'ring_hash' },
  },
};

const traffic = {
  subsets: { orders: { v1: { version: 'v1' }, v2: { version: 'v2' } } },
  traffic: {
    orders: {
      split: [
        { subset: 'v1', weight: 95 },
        { subset: 'v2', weight: 5 },
      ],
      match: [
        { header: 'X-Api-Version', value: '2', subset: 'v2' },
        { cookie: 'beta', value: 'yes', subset: 'v2' },
      ],
      mirror: { subset: 'v2', percent: 10 },
      sticky: { header: 'x-user-id' },
    },
  },
};

function find(resources: readonly IstioResource[], kind: string, name: string): Record<string, unknown> {
  const found = resources.find((r) => r.kind === kind && r.metadata.name === name);
  assert.ok(found, `${kind}/${name} missing; have ${resources.map((r) => `${r.kind}/${r.metadata.name}`).join(', ')}`);
  return found.spec;
}

function httpOf(spec: Record<string, unknown>): Record<string, unknown>[] {
  return spec.http as Record<string, unknown>[];
}

describe('generateIstioResources', () => {
  it('maps routes, retries, timeouts and rewrites to valid VirtualServices', () => {
    const { resources, issues, warnings } = generateIstioResources(mesh, { namespace: 'shop' });
    assert.deepEqual(issues, []);
    assert.deepEqual(
      resources.map((r) => `${r.apiVersion} ${r.kind}/${r.metadata.name} ${r.metadata.namespace}`),
      [
        'networking.istio.io/v1 VirtualService/orders shop',
        'networking.istio.io/v1 VirtualService/inventory shop',
        'networking.istio.io/v1 VirtualService/payments shop',
        'networking.istio.io/v1 DestinationRule/orders shop',
        'networking.istio.io/v1 DestinationRule/inventory shop',
        'networking.istio.io/v1 DestinationRule/payments shop',
      ],
    );
    assert.deepEqual(warnings, [
      'orders: outlierDetection.failurePercentage: Istio has no failure-percentage ejection; left out (use consecutive failures)',
    ]);
    const orders = find(resources, 'VirtualService', 'orders');
    assert.deepEqual(orders.hosts, ['orders.shop.svc.cluster.local']);
    const [byId, prefix, fallback] = httpOf(orders);
    // The regex route is more specific than the prefix: it comes first.
    assert.deepEqual(byId, {
      name: 'order-by-id',
      match: [
        {
          uri: { regex: '^/o/[^/]+$' },
          authority: { exact: 'api.example.com' },
          method: { regex: 'GET|HEAD' },
          headers: { 'x-tenant': { exact: 'acme' } },
          withoutHeaders: { 'x-debug': { regex: '.*' } },
        },
      ],
      route: [{ destination: { host: 'orders.shop.svc.cluster.local' } }],
      retries: { attempts: 0 },
    });
    assert.deepEqual(prefix, {
      name: 'orders',
      match: [{ uri: { exact: '/api/orders' } }, { uri: { prefix: '/api/orders/' } }],
      rewrite: { uri: '/' },
      route: [{ destination: { host: 'orders.shop.svc.cluster.local' } }],
      timeout: '5s',
      retries: { attempts: 2, perTryTimeout: '1s', retryOn: 'connect-failure,refused-stream,503' },
    });
    assert.deepEqual(fallback, {
      name: 'default',
      route: [{ destination: { host: 'orders.shop.svc.cluster.local' } }],
      retries: { attempts: 0 },
    });

    const [inventory] = httpOf(find(resources, 'VirtualService', 'inventory'));
    assert.deepEqual(inventory?.rewrite, { uriRegexRewrite: { match: '^/api/(.*)$', rewrite: '/\\1' } });
    assert.equal(inventory?.timeout, undefined, 'timeout 0 disables it: no timeout field');

    // A prefix rewritten to a path without a trailing slash needs two routes to keep "/".
    const payments = httpOf(find(resources, 'VirtualService', 'payments'));
    assert.deepEqual(
      payments.slice(0, 2).map((h) => [h.name, h.match, h.rewrite]),
      [
        ['payments-0', [{ uri: { exact: '/api/payments' } }], { uri: '/v1' }],
        ['payments-1', [{ uri: { prefix: '/api/payments/' } }], { uri: '/v1/' }],
      ],
    );
  });

  it('maps balancers, connection limits and outlier detection to DestinationRules', () => {
    const { resources } = generateIstioResources(mesh, { namespace: 'shop' });
    assert.deepEqual(find(resources, 'DestinationRule', 'orders'), {
      host: 'orders.shop.svc.cluster.local',
      trafficPolicy: {
        loadBalancer: { simple: 'LEAST_REQUEST' },
        connectionPool: {
          tcp: { connectTimeout: '250ms', maxConnections: 100 },
          http: { http1MaxPendingRequests: 10, http2MaxRequests: 50, maxRetries: 3 },
        },
        outlierDetection: { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      },
    });
    assert.deepEqual(
      (find(resources, 'DestinationRule', 'inventory').trafficPolicy as Record<string, unknown>).loadBalancer,
      {
        consistentHash: { useSourceIp: true, ringHash: {} },
      },
    );
  });

  it('maps subsets, splits, header and cookie matches and mirrors', () => {
    const { resources, issues, warnings } = generateIstioResources(mesh, { namespace: 'shop', ...traffic });
    assert.deepEqual(issues, []);
    assert.ok(
      warnings.some((w) => w.startsWith('orders: traffic.sticky:')),
      warnings.join('\n'),
    );
    assert.deepEqual(find(resources, 'DestinationRule', 'orders').subsets, [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ]);
    const http = httpOf(find(resources, 'VirtualService', 'orders'));
    assert.deepEqual(
      http.map((h) => h.name),
      ['order-by-id', 'orders-match-0', 'orders-match-1', 'orders', 'default'],
    );
    const host = 'orders.shop.svc.cluster.local';
    assert.deepEqual(http[1]?.match, [
      { uri: { exact: '/api/orders' }, headers: { 'x-api-version': { exact: '2' } } },
      { uri: { prefix: '/api/orders/' }, headers: { 'x-api-version': { exact: '2' } } },
    ]);
    assert.deepEqual(http[1]?.route, [{ destination: { host, subset: 'v2' } }]);
    const cookie =
      (http[2]?.match as { headers: { cookie: { regex: string } } }[] | undefined)?.[0]?.headers.cookie.regex ?? '';
    const re = new RegExp(`^(?:${cookie})$`);
    assert.ok(
      re.test('a=1; beta=yes') && re.test('beta=yes') && !re.test('beta=yesno') && !re.test('xbeta=yes'),
      cookie,
    );
    assert.deepEqual(http[3]?.route, [
      { destination: { host, subset: 'v1' }, weight: 95 },
      { destination: { host, subset: 'v2' }, weight: 5 },
    ]);
    assert.deepEqual([http[3]?.mirror, http[3]?.mirrorPercentage], [{ host, subset: 'v2' }, { value: 10 }]);
    assert.equal(http[1]?.mirror, undefined, 'matched requests are not mirrored');
  });

  it('reports a split that Istio rejects, and subsets the service does not have', () => {
    const { issues } = generateIstioResources(mesh, {
      namespace: 'shop',
      subsets: traffic.subsets,
      traffic: {
        orders: {
          split: [
            { subset: 'v1', weight: 150 },
            { subset: 'v3', weight: 10 },
          ],
        },
        nope: { subset: 'v1' },
      },
    });
    assert.deepEqual(
      issues.map((i) => `${i.path}: ${i.message}`),
      [
        'istio.traffic.nope: no route is named "nope"',
        'istio.traffic.orders.split[1].subset: unknown subset "v3" of orders (known: v1, v2)',
        'VirtualService/orders: /spec/http/1/route/0/weight: expected an integer 0..100, got 150',
        'VirtualService/orders: /spec/http/1/route: weights must sum to 100, got 10',
      ],
    );
  });

  it('with mtls: STRICT PeerAuthentication, gateway-only AuthorizationPolicies, ISTIO_MUTUAL', () => {
    const { resources, issues } = generateIstioResources(mesh, {
      namespace: 'shop',
      mtls: true,
      gatewayServiceAccount: 'edge',
      gatewayNamespace: 'ingress',
    });
    assert.deepEqual(issues, []);
    assert.deepEqual(find(resources, 'PeerAuthentication', 'default'), { mtls: { mode: 'STRICT' } });
    for (const service of ['orders', 'inventory', 'payments']) {
      assert.deepEqual(find(resources, 'AuthorizationPolicy', `${service}-allow-gateway`), {
        selector: { matchLabels: { app: service } },
        action: 'ALLOW',
        rules: [{ from: [{ source: { principals: ['cluster.local/ns/ingress/sa/edge'] } }] }],
      });
      const policy = find(resources, 'DestinationRule', service).trafficPolicy as Record<string, unknown>;
      assert.deepEqual(policy.tls, { mode: 'ISTIO_MUTUAL' });
    }
  });

  it('with a gateway host: a Gateway and a VirtualService bound to it with every route', () => {
    const { resources, issues } = generateIstioResources(mesh, { namespace: 'shop', gatewayHost: 'shop.example.com' });
    assert.deepEqual(issues, []);
    assert.deepEqual(find(resources, 'Gateway', 'shop-gateway'), {
      selector: { istio: 'ingressgateway' },
      servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['shop.example.com'] }],
    });
    const vs = find(resources, 'VirtualService', 'shop-gateway');
    assert.deepEqual([vs.hosts, vs.gateways], [['shop.example.com'], ['shop-gateway']]);
    assert.deepEqual(
      httpOf(vs).map((h) => h.name),
      ['inventory', 'order-by-id', 'payments-0', 'payments-1', 'orders'],
    );
  });

  it('a gateway host that is not a DNS name is reported', () => {
    const { issues } = generateIstioResources(mesh, { gatewayHost: 'shop_example.com' });
    assert.ok(
      issues.some((i) => i.path === 'Gateway/shop-gateway: /spec/servers/0/hosts/0'),
      JSON.stringify(issues),
    );
  });

  it('rejects bad options naming the field', () => {
    assert.throws(
      () =>
        generateIstioResources(mesh, { traffic: { orders: { subset: 'v1', split: [{ subset: 'v1', weight: 100 }] } } }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('istio.traffic.orders.split'),
    );
  });

  it('renders multi-document YAML, a JSON List and file names', () => {
    const { resources } = generateIstioResources(mesh, { namespace: 'shop', mtls: true });
    const docs = parseAllDocuments(toIstioYaml(resources)).map((d) => d.toJSON() as unknown);
    assert.deepEqual(docs, JSON.parse(JSON.stringify(resources)));
    assert.deepEqual(JSON.parse(toIstioJson(resources)).items, JSON.parse(JSON.stringify(resources)));
    assert.equal(istioFileName(resources[0] as IstioResource, 'yaml'), 'virtualservice-orders.yaml');
  });
});

describe('istioWeightsFor', () => {
  it('gives an HTTP route with integer weights summing to 100', () => {
    assert.deepEqual(
      istioWeightsFor({ name: 'orders', service: 'orders', namespace: 'shop' }, [
        { subset: 'stable', weight: 66.6 },
        { subset: 'canary', weight: 33.4 },
      ]),
      {
        name: 'orders',
        route: [
          { destination: { host: 'orders.shop.svc.cluster.local', subset: 'stable' }, weight: 67 },
          { destination: { host: 'orders.shop.svc.cluster.local', subset: 'canary' }, weight: 33 },
        ],
      },
    );
    const thirds = istioWeightsFor({ name: 'r', service: 's' }, [
      { subset: 'a', weight: 100 / 3 },
      { subset: 'b', weight: 100 / 3 },
      { subset: 'c', weight: 100 / 3 },
    ]);
    assert.deepEqual(
      thirds.route.map((r) => r.weight),
      [34, 33, 33],
    );
    assert.equal(thirds.route[0]?.destination.host, 's.default.svc.cluster.local');
  });
});

describe('istioDuration', () => {
  it('uses the largest whole unit', () => {
    assert.deepEqual([3_600_000, 90_000, 120_000, 5000, 250, 0].map(istioDuration), [
      '1h',
      '90s',
      '2m',
      '5s',
      '250ms',
      '0s',
    ]);
  });
});
