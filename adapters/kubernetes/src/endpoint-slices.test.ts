import assert from 'node:assert/strict';
import { it } from 'node:test';
import { choosePort, type EndpointSlice, endpointSliceProblem, toInstances } from './endpoint-slices.ts';

const ports = [
  { name: 'grpc', port: 9090, protocol: 'TCP' },
  { name: 'http', port: 8080, protocol: 'TCP' },
];

function slice(
  name: string,
  endpoints: EndpointSlice['endpoints'] & {},
  extra: Partial<EndpointSlice> = {},
): EndpointSlice {
  return { metadata: { name }, addressType: 'IPv4', ports, endpoints, ...extra };
}

const ids = (list: readonly { id: string }[]) => list.map((i) => i.id);

it('choosePort: the first by default, else by name or number; none when absent', () => {
  assert.equal(choosePort(ports, undefined), 9090);
  assert.equal(choosePort(ports, 'http'), 8080);
  assert.equal(choosePort(ports, 8080), 8080);
  assert.equal(choosePort(ports, 'metrics'), undefined);
  assert.equal(choosePort(null, undefined), undefined);
  assert.equal(choosePort([{ name: 'all' }], undefined), undefined);
});

it('ready only: ready false is out (terminating or not), a missing ready counts as ready', () => {
  const list = toInstances(
    'orders',
    [
      slice('s1', [
        { addresses: ['10.0.0.1'], conditions: { ready: true } },
        { addresses: ['10.0.0.2'], conditions: { ready: false, serving: true, terminating: true } },
        { addresses: ['10.0.0.3'], conditions: { ready: false, serving: false } },
        { addresses: ['10.0.0.4'] },
        { addresses: ['10.0.0.5'], conditions: {} },
      ]),
    ],
    { port: undefined, addressType: 'IPv4' },
  );
  assert.deepEqual(ids(list), ['s1/10.0.0.1:9090', 's1/10.0.0.4:9090', 's1/10.0.0.5:9090']);
});

it('IDs: the pod name, or <slice>/<address>:<port> with several addresses or no pod; duplicates across slices merge', () => {
  const list = toInstances(
    'orders',
    [
      slice('s2', [
        {
          addresses: ['10.0.0.9'],
          targetRef: { kind: 'Pod', name: 'orders-a' },
          zone: 'z1',
          nodeName: 'n1',
          hostname: 'h1',
        },
      ]),
      slice('s1', [
        { addresses: ['10.0.0.9'], targetRef: { kind: 'Pod', name: 'orders-a' } },
        { addresses: ['10.0.0.7', '10.0.0.8'], targetRef: { kind: 'Pod', name: 'orders-b' } },
      ]),
    ],
    { port: 'http', addressType: 'IPv4' },
  );
  assert.deepEqual(ids(list), ['orders-a', 's1/10.0.0.7:8080', 's1/10.0.0.8:8080']);
  // s1 sorts first, so its copy of orders-a (without meta) is the one kept.
  assert.deepEqual(list[0], {
    id: 'orders-a',
    service: 'orders',
    address: '10.0.0.9',
    port: 8080,
    tags: [],
    meta: {},
    status: 'passing',
    weight: 1,
  });
  const withMeta = toInstances(
    'orders',
    [slice('s2', [{ addresses: ['10.0.0.9'], zone: 'z1', nodeName: 'n1', hostname: 'h1' }])],
    {
      port: undefined,
      addressType: 'IPv4',
    },
  );
  assert.deepEqual(withMeta[0]?.meta, { zone: 'z1', nodeName: 'n1', hostname: 'h1' });
});

it('skips slices of another address type and slices without the chosen port', () => {
  const list = toInstances(
    'orders',
    [
      slice('v6', [{ addresses: ['fd00::1'] }], { addressType: 'IPv6' }),
      slice('noport', [{ addresses: ['10.0.0.1'] }], { ports: [{ name: 'metrics', port: 9100 }] }),
      slice('ok', [{ addresses: ['10.0.0.2'] }]),
    ],
    { port: 'http', addressType: 'IPv4' },
  );
  assert.deepEqual(ids(list), ['ok/10.0.0.2:8080']);
});

it('endpointSliceProblem names what is missing', () => {
  assert.equal(endpointSliceProblem(slice('ok', [])), undefined);
  assert.equal(endpointSliceProblem('x'), 'expected an EndpointSlice object');
  assert.equal(endpointSliceProblem({ metadata: {} }), 'expected metadata.name');
  assert.equal(endpointSliceProblem({ metadata: { name: 'a' } }), 'EndpointSlice a: expected addressType');
  assert.equal(
    endpointSliceProblem({ metadata: { name: 'a' }, addressType: 'IPv4', endpoints: [{}] }),
    'EndpointSlice a: expected endpoints[0].addresses',
  );
});
