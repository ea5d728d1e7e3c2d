import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { parse } from 'yaml';
import { loadEnvoyProtos } from './envoy-protos.ts';
import { assertValidEnvoyConfig, type EnvoyConfigIssue, validateEnvoyConfig } from './envoy-validate.ts';

const frontProxyYaml = `
node: { id: front-proxy, cluster: shop }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 9901 } }
static_resources:
  listeners:
    - name: ingress
      address: { socket_address: { address: 0.0.0.0, port_value: 8080 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress_http
                codec_type: AUTO
                common_http_protocol_options: { idle_timeout: 3600s, max_headers_count: 100 }
                route_config:
                  name: local_route
                  virtual_hosts:
                    - name: backend
                      domains: ["*"]
                      routes:
                        - match: { prefix: /api/orders }
                          route:
                            cluster: orders
                            timeout: 0.25s
                            prefix_rewrite: /
                            retry_policy: { retry_on: "5xx,connect-failure", num_retries: 2, per_try_timeout: 0.1s }
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: orders
      connect_timeout: 0.25s
      type: STATIC
      lb_policy: ROUND_ROBIN
      circuit_breakers:
        thresholds: [{ priority: DEFAULT, max_connections: 1000, max_pending_requests: 100, max_retries: 3 }]
      outlier_detection: { consecutive_5xx: 5, interval: 10s, base_ejection_time: 30s, max_ejection_percent: 50 }
      health_checks:
        - timeout: 1s
          interval: 5s
          unhealthy_threshold: 3
          healthy_threshold: 2
          http_health_check: { path: /health }
      load_assignment:
        cluster_name: orders
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 10.0.0.5, port_value: 3000 } } }
                load_balancing_weight: 2
              - endpoint: { address: { socket_address: { address: 10.0.0.6, port_value: 3000 } } }
    - name: inventory
      connect_timeout: 1s
      type: STRICT_DNS
      dns_lookup_family: V4_ONLY
      lb_policy: LEAST_REQUEST
      least_request_lb_config: { choice_count: 2 }
      load_assignment:
        cluster_name: inventory
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: inventory, port_value: 80 } } } }] }]
`;

const sidecarEdsYaml = `
node: { id: orders-sidecar, cluster: orders, metadata: { version: "1.2", canary: false, weights: [1, 2] } }
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [{ envoy_grpc: { cluster_name: xds_cluster } }]
  cds_config: { ads: {}, resource_api_version: V3 }
  lds_config: { ads: {}, resource_api_version: V3 }
static_resources:
  clusters:
    - name: xds_cluster
      connectTimeout: 5s
      type: STRICT_DNS
      typedExtensionProtocolOptions:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: { http2_protocol_options: {} }
      load_assignment:
        cluster_name: xds_cluster
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: control-plane, port_value: 18000 } } } }] }]
    - name: payments
      type: EDS
      lb_policy: RING_HASH
      ring_hash_lb_config: { minimum_ring_size: "1024" }
      eds_cluster_config: { service_name: payments, eds_config: { ads: {}, resource_api_version: V3 } }
`;

function pathsOf(issues: readonly EnvoyConfigIssue[]): string[] {
  return issues.map((i) => i.path);
}

function bootstrapWithCluster(cluster: Record<string, unknown>): unknown {
  return { static_resources: { clusters: [{ name: 'orders', connect_timeout: '1s', ...cluster }] } };
}

describe('validateEnvoyConfig', () => {
  before(() => {
    const { loadMs } = loadEnvoyProtos();
    // Reported, not asserted: loading is a one-off per process.
    console.log(`# Envoy protos loaded in ${loadMs.toFixed(0)} ms`);
  });

  it('accepts a realistic front proxy with static clusters', () => {
    assert.deepEqual(validateEnvoyConfig(parse(frontProxyYaml)), []);
  });

  it('accepts a sidecar on EDS over ADS, with camelCase names, Struct metadata and int64 as a string', () => {
    assert.deepEqual(validateEnvoyConfig(parse(sidecarEdsYaml)), []);
  });

  it('names an unknown field by path, with the closest real one', () => {
    const issues = validateEnvoyConfig(bootstrapWithCluster({ lb_polcy: 'ROUND_ROBIN' }));
    assert.deepEqual(issues, [
      {
        path: 'static_resources.clusters[0].lb_polcy',
        message: 'unknown field of envoy.config.cluster.v3.Cluster (did you mean "lb_policy"?)',
      },
    ]);
  });

  it('rejects an enum name Envoy does not define', () => {
    const issues = validateEnvoyConfig(bootstrapWithCluster({ type: 'STRICTDNS' }));
    assert.deepEqual(pathsOf(issues), ['static_resources.clusters[0].type']);
    assert.match(issues[0]?.message ?? '', /unknown value "STRICTDNS".*did you mean "STRICT_DNS"/);
  });

  it('accepts an enum by number, but not an undefined number where the field is defined_only', () => {
    assert.deepEqual(validateEnvoyConfig(bootstrapWithCluster({ lb_policy: 1 })), []);
    const issues = validateEnvoyConfig(bootstrapWithCluster({ lb_policy: 99 }));
    assert.deepEqual(pathsOf(issues), ['static_resources.clusters[0].lb_policy']);
    assert.match(issues[0]?.message ?? '', /99 is not a defined value/);
  });

  it('rejects a number or a malformed string where a Duration is needed', () => {
    for (const bad of [250, 'abc', '250ms', '1.0000000001s']) {
      const issues = validateEnvoyConfig(bootstrapWithCluster({ connect_timeout: bad }));
      assert.deepEqual(pathsOf(issues), ['static_resources.clusters[0].connect_timeout'], String(bad));
      assert.match(issues[0]?.message ?? '', /expected a duration string such as "0.25s"/);
    }
  });

  it('rejects an @type it cannot resolve, at the @type', () => {
    const issues = validateEnvoyConfig(
      bootstrapWithCluster({
        typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/envoy.extensions.nope.v3.Nope' } },
      }),
    );
    assert.deepEqual(pathsOf(issues), ['static_resources.clusters[0].typed_extension_protocol_options["x"].@type']);
    assert.match(issues[0]?.message ?? '', /cannot resolve "type.googleapis.com\/envoy.extensions.nope.v3.Nope"/);
  });

  it('loads the file of an extension named by @type on demand, and checks its fields', () => {
    const config = parse(frontProxyYaml);
    const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    hcm.http_filters.unshift({
      name: 'envoy.filters.http.cors',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' },
    });
    assert.deepEqual(validateEnvoyConfig(config), []);
    hcm.http_filters[0].typed_config.allow_origin = ['*'];
    assert.deepEqual(pathsOf(validateEnvoyConfig(config)), [
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.allow_origin',
    ]);
  });

  it('checks the fields inside a typed Any against the named type', () => {
    const config = parse(frontProxyYaml);
    const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    hcm.stat_prefx = hcm.stat_prefix;
    delete hcm.stat_prefix;
    const issues = validateEnvoyConfig(config);
    assert.deepEqual(pathsOf(issues), [
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefx',
      // stat_prefix is now missing, and it must not be empty
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix',
    ]);
  });

  it('rejects a wrong type: a string port, an object for a string, a wrapper given as an object', () => {
    const config = parse(frontProxyYaml);
    config.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value =
      'http';
    config.static_resources.clusters[0].name = { value: 'orders' };
    config.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].load_balancing_weight = {
      value: 2,
    };
    const issues = validateEnvoyConfig(config);
    assert.deepEqual(pathsOf(issues), [
      'static_resources.clusters[0].name',
      'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
      'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].load_balancing_weight',
    ]);
    assert.match(issues[0]?.message ?? '', /expected a string, got an object/);
    assert.match(issues[1]?.message ?? '', /expected uint32: an integer, got string "http"/);
    assert.match(issues[2]?.message ?? '', /written as the plain value/);
  });

  it('applies the validate rules the fields carry: an empty or missing cluster name', () => {
    assert.deepEqual(validateEnvoyConfig(bootstrapWithCluster({ name: '' })), [
      { path: 'static_resources.clusters[0].name', message: 'must not be empty' },
    ]);
    assert.deepEqual(validateEnvoyConfig({ static_resources: { clusters: [{ type: 'STATIC' }] } }), [
      { path: 'static_resources.clusters[0].name', message: 'must not be empty' },
    ]);
  });

  it('applies required, gt and min_items rules', () => {
    const issues = validateEnvoyConfig(
      bootstrapWithCluster({
        health_checks: [{ timeout: '1s', healthy_threshold: 1, http_health_check: { path: '/h' } }],
        load_assignment: { cluster_name: 'orders', endpoints: [{ lb_endpoints: [{ load_balancing_weight: 0 }] }] },
      }),
    );
    assert.deepEqual(issues, [
      { path: 'static_resources.clusters[0].health_checks[0].interval', message: 'required' },
      { path: 'static_resources.clusters[0].health_checks[0].unhealthy_threshold', message: 'required' },
      {
        path: 'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].load_balancing_weight',
        message: 'must be at least 1, got 0',
      },
    ]);
    const listener = validateEnvoyConfig({
      static_resources: {
        listeners: [{ name: 'l', address: { pipe: { path: '/tmp/x' } }, filter_chains: [{ filters: [] }] }],
      },
    });
    assert.deepEqual(listener, []);
  });

  it('allows one member of a oneof only, naming the second', () => {
    const issues = validateEnvoyConfig(
      bootstrapWithCluster({ type: 'STATIC', cluster_type: { name: 'envoy.clusters.aggregate' } }),
    );
    assert.deepEqual(issues, [
      {
        path: 'static_resources.clusters[0].cluster_type',
        message: 'oneof cluster_discovery_type takes only one of type, cluster_type; type is set too',
      },
    ]);
  });

  it('requires a member of a oneof marked (validate.required)', () => {
    const issues = validateEnvoyConfig(
      { timeout: '1s', interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1 },
      'envoy.config.core.v3.HealthCheck',
    );
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, '(root)');
    assert.match(
      issues[0]?.message ?? '',
      /one of http_health_check, tcp_health_check, grpc_health_check, custom_health_check is required/,
    );
  });

  it('refuses a field given both in snake_case and camelCase', () => {
    const issues = validateEnvoyConfig(bootstrapWithCluster({ lb_policy: 'RANDOM', lbPolicy: 'RANDOM' }));
    assert.deepEqual(pathsOf(issues), ['static_resources.clusters[0].lbPolicy']);
  });

  it('checks int64 as a number or decimal string, and lists as lists', () => {
    const config = {
      static_resources: { clusters: [{ name: 'a', ring_hash_lb_config: { minimum_ring_size: '12x' } }] },
    };
    assert.deepEqual(pathsOf(validateEnvoyConfig(config)), [
      'static_resources.clusters[0].ring_hash_lb_config.minimum_ring_size',
    ]);
    assert.deepEqual(pathsOf(validateEnvoyConfig({ static_resources: { clusters: { name: 'a' } } })), [
      'static_resources.clusters',
    ]);
  });

  it('validates a message other than the bootstrap when given its type name', () => {
    assert.deepEqual(validateEnvoyConfig({ name: 'orders', type: 'EDS' }, 'envoy.config.cluster.v3.Cluster'), []);
  });

  it('throws SY_MESH_ENVOY_INVALID listing every issue when asserting', () => {
    assert.throws(
      () => assertValidEnvoyConfig(bootstrapWithCluster({ lb_polcy: 'ROUND_ROBIN', type: 'STRICTDNS' })),
      (err: unknown) => {
        assert.ok(isSwitchyardError(err, 'SY_MESH_ENVOY_INVALID'));
        assert.match(err.message, /static_resources.clusters\[0\].lb_polcy: unknown field/);
        assert.match(err.message, /static_resources.clusters\[0\].type: unknown value/);
        assert.equal((err.details.issues as unknown[]).length, 2);
        return true;
      },
    );
    assert.throws(() => validateEnvoyConfig({}, 'envoy.nope.Type'), { code: 'SY_MESH_ENVOY_INVALID' });
  });
});
