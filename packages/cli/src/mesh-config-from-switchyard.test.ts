import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import { generateEnvoyBootstrap, validateEnvoyConfig } from '@switchyard/mesh';
import { parseConfig } from './load-config.ts';
import { meshConfigFromSwitchyard } from './mesh-config-from-switchyard.ts';

function configOf(gatewayYaml: string) {
  return parseConfig(`version: 1\nname: t\ngateway:\n  port: 9000\n${gatewayYaml}`, 'switchyard.yaml', {}).config;
}

function instance(service: string, port: number, weight = 1): ServiceInstance {
  return {
    id: `${service}-${port}`,
    service,
    address: '10.0.0.1',
    port,
    tags: [],
    meta: {},
    status: 'passing',
    weight,
  };
}

describe('meshConfigFromSwitchyard', () => {
  it('maps prefix routes with stripPrefix, timeouts, retries, balancers and breakers', () => {
    const config = configOf(`  timeout: 10s
  routes:
    - path: /api/orders
      service: orders
      balancer: peak_ewma
      retry: { attempts: 3, statuses: [503], backoff: { initial: 50ms, max: 1s }, afterSend: true }
      breaker: { trip: { type: consecutive, failures: 3 }, openDuration: 20s }
    - path: /api/payments
      service: payments
      stripPrefix: false
      timeout: 2s
      retry: false
      breaker: { trip: { type: count, size: 50, failureRate: 0.25, minimumCalls: 10 } }
`);
    const { mesh, issues, warnings } = meshConfigFromSwitchyard(config, {
      instances: { orders: [instance('orders', 3001), instance('orders', 3002, 4)] },
      healthPath: '/health',
    });
    assert.deepEqual(issues, []);
    assert.deepEqual(warnings, []);
    assert.deepEqual(mesh.listener, { address: '127.0.0.1', port: 9000 });
    assert.deepEqual(mesh.routes[0], {
      name: '/api/orders',
      service: 'orders',
      match: { prefix: '/api/orders' },
      timeout: 10_000,
      retry: {
        attempts: 3,
        retryOn: ['connect-failure', 'refused-stream', 'reset'],
        statuses: [503],
        backoff: { base: 50, max: 1000 },
      },
      rewritePrefix: '/',
    });
    assert.equal(mesh.routes[1]?.rewritePrefix, undefined);
    assert.equal(mesh.routes[1]?.timeout, 2000);
    assert.equal(mesh.routes[1]?.retry, false);
    assert.deepEqual(mesh.clusters?.orders, {
      lbPolicy: 'least_request',
      endpoints: [
        { address: '10.0.0.1', port: 3001 },
        { address: '10.0.0.1', port: 3002, weight: 4 },
      ],
      outlierDetection: { consecutive5xx: 3, baseEjectionTime: 20_000 },
      healthCheck: { path: '/health' },
    });
    assert.deepEqual(mesh.clusters?.payments?.outlierDetection, {
      failurePercentage: 25,
      failurePercentageRequestVolume: 10,
    });
    assert.deepEqual(validateEnvoyConfig(generateEnvoyBootstrap(mesh)), []);
  });

  it('turns :param routes and rewrite templates into regex matches and regex rewrites', () => {
    const config = configOf(`  routes:
    - path: /api/users/:id
      service: users
      rewrite: /v2/users/{id}/profile
    - path: /files/:bucket/*
      service: files
    - path: /exact/:id
      match: exact
      service: exact
`);
    const { mesh, issues } = meshConfigFromSwitchyard(config);
    assert.deepEqual(issues, []);
    const [users, files, exact] = mesh.routes;
    assert.deepEqual(users?.match, { regex: '^/api/users/[^/]+(?:/.*)?$' });
    assert.deepEqual(users?.rewrite, {
      regex: '^/api/users/([^/]+)(?:/(.*))?$',
      substitution: '/v2/users/\\1/profile',
    });
    assert.deepEqual(files?.rewrite, { regex: '^/files/([^/]+)(?:/(.*))?$', substitution: '/\\2' });
    assert.deepEqual(exact?.match, { regex: '^/exact/[^/]+$' });
    assert.deepEqual(exact?.rewrite, { regex: '^/exact/[^/]+$', substitution: '/' });
    // What Envoy's regex_rewrite does, in JavaScript terms (\N is $N).
    const apply = (r: { regex: string; substitution: string } | undefined, path: string) =>
      path.replace(new RegExp(r?.regex ?? ''), (r?.substitution ?? '').replace(/\\(\d)/g, '$$$1'));
    assert.equal(apply(users?.rewrite, '/api/users/42'), '/v2/users/42/profile');
    assert.equal(apply(files?.rewrite, '/files/b1/a/b.txt'), '/a/b.txt');
    assert.deepEqual(validateEnvoyConfig(generateEnvoyBootstrap(mesh)), []);
  });

  it('keeps methods, hosts and header conditions, and uses static upstreams as endpoints', () => {
    const config = configOf(`  routes:
    - path: /legacy
      upstreams: [http://10.1.1.1:8081, http://legacy.internal:8082]
      methods: [GET, POST]
      hosts: [api.example.com]
      headers: { x-tenant: acme, x-debug: { present: true }, x-v: { regex: "v[12]" } }
`);
    const { mesh } = meshConfigFromSwitchyard(config);
    const [route] = mesh.routes;
    assert.equal(route?.service, 'static_legacy');
    assert.deepEqual(route?.hosts, ['api.example.com']);
    assert.deepEqual(route?.match.methods, ['GET', 'POST']);
    assert.deepEqual(route?.match.headers, {
      'x-tenant': 'acme',
      'x-debug': { present: true },
      'x-v': { regex: 'v[12]' },
    });
    assert.deepEqual(mesh.clusters?.static_legacy?.endpoints, [
      { address: '10.1.1.1', port: 8081 },
      { address: 'legacy.internal', port: 8082 },
    ]);
    assert.deepEqual(validateEnvoyConfig(generateEnvoyBootstrap(mesh)), []);
  });

  it('warns about what Envoy cannot carry: aggregate routes and middleware', () => {
    const config = configOf(`  routes:
    - path: /api/orders
      service: orders
      middleware: [{ cors: { origins: ["*"] } }]
    - path: /api/summary
      aggregate:
        calls: [{ name: a, service: orders, path: /x }]
`);
    const { mesh, warnings } = meshConfigFromSwitchyard(config);
    assert.equal(mesh.routes.length, 1);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0] ?? '', /gateway\.routes\[0\].*middleware/);
    assert.match(warnings[1] ?? '', /gateway\.routes\[1\].*aggregate/);
  });
});
