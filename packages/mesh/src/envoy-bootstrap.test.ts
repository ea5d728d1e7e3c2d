import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { parse } from 'yaml';
import { generateEnvoyBootstrap, XDS_CLUSTER } from './envoy-bootstrap.ts';
import { validateEnvoyConfig } from './envoy-validate.ts';
import { toEnvoyYaml } from './envoy-yaml.ts';
import type { MeshConfig } from './mesh-config.ts';

// The shop's three services, as the cli maps examples/shop/switchyard.yaml, plus the knobs.
const shop: MeshConfig = {
  name: 'shop',
  listener: { port: 8080 },
  routes: [
    { match: { prefix: '/api/orders' }, service: 'orders', rewritePrefix: '/', timeout: '30s' },
    {
      match: { prefix: '/api/inventory' },
      service: 'inventory',
      rewritePrefix: '/',
      timeout: 30_000,
      retry: { attempts: 3, statuses: [503], perTryTimeout: '1s', backoff: { base: '25ms', max: '250ms' } },
    },
    { match: { prefix: '/api/payments' }, service: 'payments', rewritePrefix: '/', retry: false },
    { name: 'orders-exact', match: { path: '/api/orders/health', methods: ['GET'] }, service: 'orders' },
  ],
  clusters: {
    orders: {
      lbPolicy: 'least_request',
      endpoints: [{ address: '127.0.0.1', port: 3001 }],
      outlierDetection: { consecutive5xx: 5, baseEjectionTime: '30s' },
      healthCheck: { path: '/health' },
    },
    inventory: {
      endpoints: [
        { address: '127.0.0.1', port: 3002 },
        { address: '127.0.0.1', port: 3003, weight: 3 },
      ],
      circuitBreaker: { maxConnections: 100, maxPendingRequests: 10, maxRetries: 2 },
    },
    payments: { lbPolicy: 'random', endpoints: [{ address: 'payments.internal', port: 3004 }] },
  },
};

// biome-ignore lint/suspicious/noExplicitAny: assertions walk untyped Envoy JSON
type Json = Record<string, any>;

function clusterNamed(bootstrap: Json, name: string): Json {
  const found = bootstrap.static_resources.clusters.find((c: Json) => c.name === name);
  assert.ok(found, `cluster ${name}`);
  return found;
}

function routesOf(listener: Json): Json[] {
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  return hcm.route_config.virtual_hosts.at(-1).routes;
}

describe('generateEnvoyBootstrap', () => {
  it('builds a front proxy with static clusters that validates and round-trips through YAML', () => {
    const bootstrap = generateEnvoyBootstrap(shop, { mode: 'front-proxy', endpoints: 'static' }) as Json;
    assert.deepEqual(validateEnvoyConfig(parse(toEnvoyYaml(bootstrap))), []);
    assert.deepEqual(bootstrap.node, { id: 'shop-front-proxy', cluster: 'shop' });
    assert.equal(bootstrap.dynamic_resources, undefined);
    const [listener] = bootstrap.static_resources.listeners;
    assert.deepEqual(listener.address, { socket_address: { address: '0.0.0.0', port_value: 8080 } });
    const hcm = listener.filter_chains[0].filters[0].typed_config;
    assert.equal(hcm.http_filters.at(-1).name, 'envoy.filters.http.router');

    const orders = clusterNamed(bootstrap, 'orders');
    assert.equal(orders.type, 'STATIC');
    assert.equal(orders.lb_policy, 'LEAST_REQUEST');
    assert.deepEqual(orders.outlier_detection, { consecutive_5xx: 5, base_ejection_time: '30s' });
    assert.equal(orders.health_checks[0].http_health_check.path, '/health');
    const inventory = clusterNamed(bootstrap, 'inventory');
    assert.deepEqual(inventory.circuit_breakers.thresholds[0], {
      priority: 'DEFAULT',
      max_connections: 100,
      max_pending_requests: 10,
      max_retries: 2,
    });
    assert.equal(inventory.load_assignment.endpoints[0].lb_endpoints[1].load_balancing_weight, 3);
    assert.equal(clusterNamed(bootstrap, 'payments').type, 'STRICT_DNS');
    assert.equal(clusterNamed(bootstrap, 'payments').lb_policy, 'RANDOM');
  });

  it('orders routes most specific first and maps timeouts, retries and prefix rewrites', () => {
    const bootstrap = generateEnvoyBootstrap(shop, { mode: 'front-proxy' }) as Json;
    const routes = routesOf(bootstrap.static_resources.listeners[0]);
    assert.deepEqual(
      routes.map((r) => r.name),
      ['orders-exact', 'route_1', 'route_2', 'route_0'],
    );
    assert.deepEqual(routes[0]?.match, {
      path: '/api/orders/health',
      headers: [{ name: ':method', string_match: { exact: 'GET' } }],
    });
    const inventory = routes[1] as Json;
    assert.deepEqual(inventory.match, { path_separated_prefix: '/api/inventory' });
    assert.equal(inventory.route.timeout, '30s');
    assert.deepEqual(inventory.route.retry_policy, {
      retry_on: 'connect-failure,refused-stream,retriable-status-codes',
      num_retries: 2,
      per_try_timeout: '1s',
      retriable_status_codes: [503],
      retry_back_off: { base_interval: '0.025s', max_interval: '0.25s' },
    });
    assert.equal((routes[2] as Json).route.retry_policy, undefined);
    // Envoy's regex_rewrite replaces the match with the substitution; JavaScript's replace does the same.
    const { pattern, substitution } = inventory.route.regex_rewrite;
    const rewrite = (path: string) => path.replace(new RegExp(pattern.regex), substitution);
    assert.equal(rewrite('/api/inventory/12'), '/12');
    assert.equal(rewrite('/api/inventory'), '/');
  });

  it('builds a sidecar on EDS over ADS pointing at the xDS server', () => {
    const bootstrap = generateEnvoyBootstrap(shop, {
      mode: 'sidecar',
      endpoints: 'eds',
      xds: { host: 'control-plane', port: 18000 },
      sidecar: { service: 'orders', appPort: 3001 },
      admin: false,
    }) as Json;
    assert.deepEqual(validateEnvoyConfig(bootstrap), []);
    assert.deepEqual(bootstrap.node, { id: 'orders-sidecar', cluster: 'orders' });
    assert.equal(bootstrap.admin, undefined);
    assert.deepEqual(bootstrap.dynamic_resources.ads_config.grpc_services, [
      { envoy_grpc: { cluster_name: XDS_CLUSTER } },
    ]);
    assert.deepEqual(
      bootstrap.static_resources.listeners.map((l: Json) => [l.name, l.address.socket_address.port_value]),
      [
        ['inbound', 15006],
        ['outbound', 15001],
      ],
    );
    const local = clusterNamed(bootstrap, 'local_orders');
    assert.equal(local.type, 'STATIC');
    assert.equal(local.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 3001);
    const inventory = clusterNamed(bootstrap, 'inventory');
    assert.equal(inventory.type, 'EDS');
    assert.deepEqual(inventory.eds_cluster_config, {
      eds_config: { ads: {}, resource_api_version: 'V3' },
      service_name: 'inventory',
    });
    assert.equal(inventory.load_assignment, undefined);
    const xds = clusterNamed(bootstrap, XDS_CLUSTER);
    assert.equal(xds.type, 'STRICT_DNS');
    assert.ok(xds.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']);
  });

  it('gives routes with hosts their own virtual host, followed by the routes for any host', () => {
    const bootstrap = generateEnvoyBootstrap({
      routes: [
        { match: { prefix: '/' }, service: 'web' },
        { match: { prefix: '/admin' }, hosts: ['admin.example.com'], service: 'admin', timeout: 0 },
      ],
    }) as Json;
    const vhosts =
      bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts;
    assert.deepEqual(
      vhosts.map((v: Json) => [v.domains, v.routes.map((r: Json) => r.route.cluster)]),
      [
        [['admin.example.com'], ['admin', 'web']],
        [['*'], ['web']],
      ],
    );
    assert.equal(vhosts[0].routes[0].route.timeout, '0s');
    assert.deepEqual(vhosts[1].routes[0].match, { prefix: '/' });
  });

  it('refuses bad options and bad mesh config by field path', () => {
    const issuesOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
        return (err.details.issues as Array<{ path: string }>).map((i) => i.path);
      }
      assert.fail('expected SY_CONFIG_INVALID');
    };
    assert.deepEqual(
      issuesOf(() => generateEnvoyBootstrap(shop, { endpoints: 'eds' })),
      ['options.xds'],
    );
    assert.deepEqual(
      issuesOf(() => generateEnvoyBootstrap(shop, { mode: 'sidecar' })),
      ['options.sidecar'],
    );
    assert.deepEqual(
      issuesOf(() =>
        generateEnvoyBootstrap({
          routes: [{ match: { prefix: 'api', path: '/x' }, service: 'a', timeout: 'soon' }],
          clusters: { a: { lbPolicy: 'fastest' as 'random' } },
        }),
      ),
      [
        'mesh.routes[0].match.prefix',
        'mesh.routes[0].match.path',
        'mesh.routes[0].timeout',
        'mesh.clusters.a.lbPolicy',
      ],
    );
  });
});
