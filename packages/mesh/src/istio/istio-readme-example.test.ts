import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  generateIstioResources,
  istioWeightsFor,
  type MeshConfig,
  toIstioYaml,
  validateIstioResources,
} from '@switchyard/mesh';

it('the Istio example of the mesh README runs as written', () => {
  // README "Istio" example, from here ...
  const mesh: MeshConfig = {
    name: 'shop',
    routes: [
      {
        name: 'orders',
        match: { prefix: '/api/orders' },
        service: 'orders',
        rewritePrefix: '/',
        timeout: '5s',
        retry: { attempts: 3, perTryTimeout: '1s' },
      },
    ],
    clusters: {
      orders: { lbPolicy: 'least_request', outlierDetection: { consecutive5xx: 5, baseEjectionTime: '30s' } },
    },
  };
  const { resources, issues, warnings } = generateIstioResources(mesh, {
    namespace: 'shop',
    mtls: true,
    subsets: { orders: { stable: { version: 'v1' }, canary: { version: 'v2' } } },
    traffic: {
      orders: {
        split: [
          { subset: 'stable', weight: 90 },
          { subset: 'canary', weight: 10 },
        ],
      },
    },
  });
  // issues: [] -- warnings: [] -- resources: VirtualService/orders, DestinationRule/orders,
  // PeerAuthentication/default, AuthorizationPolicy/orders-allow-gateway
  const yaml = toIstioYaml(resources); // kubectl apply -f -

  const handWritten = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'orders' },
    spec: { hosts: ['orders'], htp: [] },
  };
  const problems = validateIstioResources([handWritten]);
  // [{ path: 'VirtualService/orders: /spec/htp', message: 'unknown field (did you mean "http"?)' }]

  const rollout = istioWeightsFor({ name: 'orders', service: 'orders', namespace: 'shop' }, [
    { subset: 'stable', weight: 75 },
    { subset: 'canary', weight: 25 },
  ]);
  // ... to here.

  assert.deepEqual(issues, []);
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    resources.map((r) => `${r.kind}/${r.metadata.name}`),
    [
      'VirtualService/orders',
      'DestinationRule/orders',
      'PeerAuthentication/default',
      'AuthorizationPolicy/orders-allow-gateway',
    ],
  );
  assert.match(yaml, /^apiVersion: networking\.istio\.io\/v1\nkind: VirtualService\n/);
  assert.equal(yaml.split('\n---\n').length, 4);
  assert.deepEqual(problems, [
    { path: 'VirtualService/orders: /spec/htp', message: 'unknown field (did you mean "http"?)' },
  ]);
  assert.deepEqual(
    rollout.route.map((r) => [r.destination.subset, r.weight]),
    [
      ['stable', 75],
      ['canary', 25],
    ],
  );
});
