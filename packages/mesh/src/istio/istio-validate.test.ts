import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { assertValidIstioResources, validateIstioResources } from './istio-validate.ts';

function virtualService(http: unknown[], extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'orders', namespace: 'shop' },
    spec: { hosts: ['orders.shop.svc.cluster.local'], http, ...extra },
  };
}

const split = (a: unknown, b: unknown) => [
  {
    name: 'orders',
    route: [
      { destination: { host: 'orders', subset: 'v1' }, weight: a },
      { destination: { host: 'orders', subset: 'v2' }, weight: b },
    ],
  },
];

const paths = (issues: readonly { path: string; message: string }[]) => issues.map((i) => `${i.path}: ${i.message}`);

describe('validateIstioResources', () => {
  it('accepts a valid VirtualService and DestinationRule', () => {
    const issues = validateIstioResources([
      virtualService([
        {
          name: 'orders',
          match: [{ uri: { prefix: '/api/orders/' }, headers: { 'x-v': { exact: '2' } } }],
          rewrite: { uri: '/' },
          route: [{ destination: { host: 'orders.shop.svc.cluster.local', port: { number: 8080 } } }],
          timeout: '5s',
          retries: { attempts: 2, perTryTimeout: '250ms', retryOn: 'connect-failure,503' },
        },
        ...split(90, 10),
      ]),
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'orders', labels: { 'app.kubernetes.io/managed-by': 'switchyard' } },
        spec: {
          host: 'orders.shop.svc.cluster.local',
          trafficPolicy: { outlierDetection: { consecutive5xxErrors: 5, baseEjectionTime: '1h30m' } },
          subsets: [{ name: 'v1', labels: { version: 'v1' } }],
        },
      },
    ]);
    assert.deepEqual(issues, []);
  });

  it('reports a weight over 100 at its path', () => {
    const issues = paths(validateIstioResources([virtualService(split(150, -50))]));
    assert.ok(
      issues.includes('VirtualService/orders: /spec/http/0/route/0/weight: expected an integer 0..100, got 150'),
      issues.join('\n'),
    );
  });

  it('reports weights that do not sum to 100', () => {
    const issues = paths(validateIstioResources([virtualService(split(80, 10))]));
    assert.deepEqual(issues, ['VirtualService/orders: /spec/http/0/route: weights must sum to 100, got 90']);
  });

  it('reports a non-integer weight through the schema', () => {
    const issues = paths(validateIstioResources([virtualService(split(90.5, 9.5))]));
    assert.ok(
      issues.some((i) => i.startsWith('VirtualService/orders: /spec/http/0/route/0/weight: must be integer')),
      issues.join('\n'),
    );
  });

  it("reports a duration written '10 seconds'", () => {
    const issues = paths(
      validateIstioResources([
        virtualService([{ route: [{ destination: { host: 'orders' } }], timeout: '10 seconds' }]),
      ]),
    );
    assert.deepEqual(issues, [
      'VirtualService/orders: /spec/http/0/timeout: expected an Istio duration such as "5s", "250ms" or "1h30m", got "10 seconds"',
    ]);
  });

  it("reports a host with '_' and an empty host", () => {
    const vs = virtualService([{ route: [{ destination: { host: 'orders_v1' } }] }]);
    vs.spec.hosts = ['orders_api.shop', ''];
    const issues = paths(validateIstioResources([vs]));
    assert.deepEqual(issues, [
      'VirtualService/orders: /spec/hosts/0: expected a DNS-1123 host name (lower-case letters, digits, "-", "."), got "orders_api.shop"',
      'VirtualService/orders: /spec/hosts/1: expected a DNS-1123 host name (lower-case letters, digits, "-", "."), got ""',
      'VirtualService/orders: /spec/http/0/route/0/destination/host: expected a DNS-1123 host name (lower-case letters, digits, "-", "."), got "orders_v1"',
    ]);
  });

  it('reports an unknown field with a suggestion, at any depth', () => {
    const vs = virtualService(
      [{ route: [{ destination: { host: 'orders', subst: 'v1' } }], retries: { attempts: 1, perTryTimout: '1s' } }],
      {
        htp: [],
      },
    );
    const issues = paths(validateIstioResources([vs]));
    assert.deepEqual(issues.sort(), [
      'VirtualService/orders: /spec/htp: unknown field (did you mean "http"?)',
      'VirtualService/orders: /spec/http/0/retries/perTryTimout: unknown field (did you mean "perTryTimeout"?)',
      'VirtualService/orders: /spec/http/0/route/0/destination/subst: unknown field (did you mean "subset"?)',
    ]);
  });

  it('does not take map keys (labels, header names) for unknown fields', () => {
    const vs = virtualService([
      { match: [{ headers: { 'x-anything': { exact: '1' } } }], route: [{ destination: { host: 'orders' } }] },
    ]);
    const withLabels = { ...vs, metadata: { ...vs.metadata, labels: { whatever: 'x' }, annotations: { 'a/b': 'c' } } };
    assert.deepEqual(validateIstioResources([withLabels]), []);
  });

  it('reports a port out of range, a bad resource name and a schema enum', () => {
    const issues = paths(
      validateIstioResources([
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'DestinationRule',
          metadata: { name: 'Orders_1' },
          spec: {
            host: 'orders',
            trafficPolicy: { loadBalancer: { simple: 'FASTEST' }, portLevelSettings: [{ port: { number: 70000 } }] },
          },
        },
      ]),
    );
    assert.ok(
      issues.includes(
        'DestinationRule/Orders_1: /spec/trafficPolicy/portLevelSettings/0/port/number: expected a port 1..65535, got 70000',
      ),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('DestinationRule/Orders_1: /metadata/name: expected a DNS-1123 label')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) =>
        i.startsWith('DestinationRule/Orders_1: /spec/trafficPolicy/loadBalancer/simple: must be equal to one of'),
      ),
      issues.join('\n'),
    );
  });

  it('reports a missing required field and an unsupported kind', () => {
    const issues = paths(
      validateIstioResources([
        { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'orders' }, spec: {} },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, spec: {} },
      ]),
    );
    assert.ok(
      issues.some((i) => i.startsWith('DestinationRule/orders: /spec: must have required property host')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('ConfigMap/x: /apiVersion: unsupported kind "v1/ConfigMap"')),
      issues.join('\n'),
    );
  });

  it('assertValidIstioResources throws SY_MESH_ISTIO_INVALID with every issue', () => {
    assert.throws(
      () => assertValidIstioResources([virtualService(split(150, 10))]),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_MESH_ISTIO_INVALID') &&
        Array.isArray(err.details.issues) &&
        err.details.issues.length === 2 &&
        err.message.includes('/spec/http/0/route/0/weight'),
    );
  });
});
