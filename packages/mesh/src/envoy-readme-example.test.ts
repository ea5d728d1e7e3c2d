// The example of the README's "Envoy configuration" section, kept runnable.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { generateEnvoyBootstrap } from './envoy-bootstrap.ts';
import { validateEnvoyConfig } from './envoy-validate.ts';
import { toEnvoyYaml } from './envoy-yaml.ts';
import type { MeshConfig } from './mesh-config.ts';

it('README: generate a front proxy, then catch a typo in a hand-written config', () => {
  // --- README example start ---
  const mesh: MeshConfig = {
    name: 'shop',
    routes: [
      {
        match: { prefix: '/api/orders' },
        service: 'orders',
        rewritePrefix: '/',
        timeout: '5s',
        retry: { attempts: 3, perTryTimeout: '1s', retryOn: ['5xx', 'connect-failure'] },
      },
    ],
    clusters: {
      orders: {
        lbPolicy: 'least_request',
        circuitBreaker: { maxConnections: 1000, maxPendingRequests: 100 },
        outlierDetection: { consecutive5xx: 5, baseEjectionTime: '30s' },
        healthCheck: { path: '/health', interval: '5s' },
        endpoints: [{ address: '10.0.0.5', port: 3000 }],
      },
    },
  };
  const bootstrap = generateEnvoyBootstrap(mesh, { mode: 'front-proxy', endpoints: 'static' });
  const yaml = toEnvoyYaml(bootstrap); // envoy -c envoy.yaml

  const handWritten = { static_resources: { clusters: [{ name: 'orders', lb_polcy: 'ROUND_ROBIN' }] } };
  const issues = validateEnvoyConfig(handWritten);
  // [{ path: 'static_resources.clusters[0].lb_polcy',
  //    message: 'unknown field of envoy.config.cluster.v3.Cluster (did you mean "lb_policy"?)' }]
  // --- README example end ---

  assert.match(yaml, /lb_policy: LEAST_REQUEST/);
  assert.match(yaml, /retry_on: 5xx,connect-failure/);
  assert.deepEqual(issues, [
    {
      path: 'static_resources.clusters[0].lb_polcy',
      message: 'unknown field of envoy.config.cluster.v3.Cluster (did you mean "lb_policy"?)',
    },
  ]);
  assert.throws(
    () => generateEnvoyBootstrap(mesh, { endpoints: 'eds' }),
    (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /options\.xds: required/.test(err.message),
  );
});
