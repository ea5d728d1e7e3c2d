import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HealthStatus, isSwitchyardError, type ServiceInstance } from '@switchyard/core';
import { openRawAdsStream, type RawResponse } from './testing/raw-ads-client.ts';
import { xdsType } from './xds/protos.ts';
import { type XdsEvent, type XdsServiceMap, type XdsSnapshotSource, XdsTypeUrl } from './xds/types.ts';
import { createXdsServer } from './xds-server.ts';

function instance(service: string, id: string, port: number): ServiceInstance {
  return { id, service, address: '127.0.0.1', port, tags: [], meta: {}, status: HealthStatus.Passing, weight: 1 };
}

function manualSource(initial: XdsServiceMap) {
  let current = initial;
  let listener: ((s: XdsServiceMap) => void) | undefined;
  const source: XdsSnapshotSource = {
    watch(l) {
      listener = l;
      l(current);
      return { dispose: () => (listener = undefined) };
    },
  };
  return {
    source,
    set(next: XdsServiceMap) {
      current = next;
      listener?.(next);
    },
  };
}

function names(response: RawResponse, field: 'name' | 'cluster_name' = 'name'): string[] {
  const type = xdsType(response.type_url.replace('type.googleapis.com/', ''));
  return response.resources.map((r) => (type.decode(r.value) as unknown as Record<string, string>)[field] ?? '');
}

function endpointPorts(response: RawResponse): number[] {
  const type = xdsType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  const cla = type.toObject(type.decode(response.resources[0]?.value ?? new Uint8Array())) as {
    endpoints?: { lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[] }[];
  };
  return (cla.endpoints ?? []).flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.port_value));
}

const node = { id: 'raw-test', cluster: 'test' };

async function start(t: import('node:test').TestContext, initial: XdsServiceMap) {
  const src = manualSource(initial);
  const events: XdsEvent[] = [];
  const warnings: string[] = [];
  const server = await createXdsServer({
    source: src.source,
    port: 0,
    debounce: 10,
    logger: { warn: (_f, message) => warnings.push(message) },
    onEvent: (e) => events.push(e),
  });
  t.after(() => server.close());
  const stream = openRawAdsStream(server.address);
  t.after(() => stream.close());
  return { src, server, stream, events, warnings };
}

test('a NACKed version is logged once and not sent again; the next version is', async (t) => {
  const { src, stream, events, warnings } = await start(t, new Map([['a', [instance('a', 'a-1', 1001)]]]));

  stream.send({ node, type_url: XdsTypeUrl.Cluster, resource_names: [] });
  const v1 = await stream.next();
  assert.equal(v1.version_info, '1');
  assert.deepEqual(names(v1), ['a']);

  // NACK it twice (a client retrying the same rejection).
  for (let i = 0; i < 2; i++) {
    stream.send({
      type_url: XdsTypeUrl.Cluster,
      version_info: '',
      resource_names: [],
      response_nonce: v1.nonce,
      error_detail: { code: 3, message: 'cluster a: unsupported lb_policy' },
    });
  }
  // Responses are written in request order: had the server re-sent CDS, it would come before this.
  stream.send({ type_url: XdsTypeUrl.ClusterLoadAssignment, resource_names: ['a'] });
  const eds = await stream.next();
  assert.equal(eds.type_url, XdsTypeUrl.ClusterLoadAssignment, 'the NACKed CDS version was not re-sent');
  assert.deepEqual(endpointPorts(eds), [1001]);

  const nacks = events.filter((e) => e.type === 'nack');
  assert.equal(nacks.length, 1);
  assert.deepEqual(
    { version: nacks[0]?.version, message: nacks[0]?.type === 'nack' ? nacks[0].message : '' },
    { version: '1', message: 'cluster a: unsupported lb_policy' },
  );
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /raw-test rejected .*Cluster version 1: cluster a: unsupported lb_policy/);

  // A new service: the next CDS version goes out, with a newer nonce.
  src.set(
    new Map([
      ['a', [instance('a', 'a-1', 1001)]],
      ['b', [instance('b', 'b-1', 1002)]],
    ]),
  );
  const v2 = await stream.next();
  assert.equal(v2.type_url, XdsTypeUrl.Cluster);
  assert.equal(v2.version_info, '2');
  assert.deepEqual(names(v2), ['a', 'b']);
  assert.ok(Number(v2.nonce) > Number(eds.nonce) && Number(eds.nonce) > Number(v1.nonce), 'nonces increase');

  stream.send({ type_url: XdsTypeUrl.Cluster, version_info: '2', resource_names: [], response_nonce: v2.nonce });
  const deadline = Date.now() + 5000;
  while (!events.some((e) => e.type === 'ack' && e.version === '2') && Date.now() < deadline) {
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(events.some((e) => e.type === 'ack' && e.typeUrl === XdsTypeUrl.Cluster && e.version === '2'));
});

test('changes are pushed as new versions; named subscriptions get only their resources', async (t) => {
  const { src, server, stream, events } = await start(
    t,
    new Map([
      ['a', [instance('a', 'a-1', 1001)]],
      ['b', [instance('b', 'b-1', 2001)]],
    ]),
  );
  stream.send({ node, type_url: XdsTypeUrl.ClusterLoadAssignment, resource_names: ['a'] });
  const first = await stream.next();
  assert.deepEqual(names(first, 'cluster_name'), ['a']);
  assert.deepEqual(endpointPorts(first), [1001]);
  stream.send({
    type_url: XdsTypeUrl.ClusterLoadAssignment,
    version_info: '1',
    resource_names: ['a'],
    response_nonce: first.nonce,
  });

  // Only b changes: EDS moves to version 2, but nothing this stream asked for changed.
  src.set(
    new Map([
      ['a', [instance('a', 'a-1', 1001)]],
      ['b', [instance('b', 'b-2', 2002)]],
    ]),
  );
  // Then a changes: pushed, at a newer version.
  src.set(
    new Map([
      ['a', [instance('a', 'a-1', 1001), instance('a', 'a-2', 1002)]],
      ['b', [instance('b', 'b-2', 2002)]],
    ]),
  );
  const pushed = await stream.next();
  assert.deepEqual(endpointPorts(pushed), [1001, 1002]);
  assert.ok(Number(pushed.version_info) > Number(first.version_info));
  assert.ok(Number(pushed.nonce) > Number(first.nonce));
  // CDS/LDS/RDS did not change, so their versions stayed at 1.
  const versions = server.versions();
  assert.equal(versions[XdsTypeUrl.Cluster], '1');
  assert.equal(versions[XdsTypeUrl.Listener], '1');
  assert.equal(versions[XdsTypeUrl.ClusterLoadAssignment], pushed.version_info);

  // A stale nonce (an older response) is ignored, an unknown type too.
  stream.send({ type_url: XdsTypeUrl.ClusterLoadAssignment, resource_names: ['a', 'b'], response_nonce: first.nonce });
  stream.send({ type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', resource_names: [] });
  // Subscribing to more names with the current nonce is answered with both.
  stream.send({
    type_url: XdsTypeUrl.ClusterLoadAssignment,
    version_info: pushed.version_info,
    resource_names: ['a', 'b'],
    response_nonce: pushed.nonce,
  });
  const both = await stream.next();
  assert.deepEqual(names(both, 'cluster_name'), ['a', 'b']);
  assert.equal(both.version_info, pushed.version_info);
  const ignored = events.filter((e) => e.type === 'ignored').map((e) => (e.type === 'ignored' ? e.reason : ''));
  assert.deepEqual(ignored, ['stale_nonce', 'unknown_type']);
});

test('a burst of source changes within the debounce window is one version', async (t) => {
  const { src, server, stream } = await start(t, new Map([['a', [instance('a', 'a-1', 1001)]]]));
  stream.send({ node, type_url: XdsTypeUrl.ClusterLoadAssignment, resource_names: [] });
  const first = await stream.next();
  stream.send({
    type_url: XdsTypeUrl.ClusterLoadAssignment,
    version_info: first.version_info,
    resource_names: [],
    response_nonce: first.nonce,
  });
  for (let port = 1002; port <= 1010; port++) src.set(new Map([['a', [instance('a', 'a-1', port)]]]));
  const pushed = await stream.next();
  assert.deepEqual(endpointPorts(pushed), [1010]);
  assert.equal(pushed.version_info, '2');
  assert.equal(server.versions()[XdsTypeUrl.ClusterLoadAssignment], '2');
});

test('close() ends open streams with status OK and is idempotent', async (t) => {
  const { server, stream } = await start(t, new Map([['a', []]]));
  stream.send({ node, type_url: XdsTypeUrl.Listener, resource_names: ['a'] });
  const listener = await stream.next();
  assert.deepEqual(names(listener), ['a']);
  assert.equal(server.streams, 1);
  await Promise.all([server.close(), server.close()]);
  assert.equal(server.streams, 0);
});

test('a port in use fails with SY_MESH_XDS_BIND_FAILED', async (t) => {
  const first = await createXdsServer({ source: manualSource(new Map()).source, port: 0 });
  t.after(() => first.close());
  await assert.rejects(
    createXdsServer({ source: manualSource(new Map()).source, port: first.port }),
    (err) => isSwitchyardError(err, 'SY_MESH_XDS_BIND_FAILED') && err.message.includes(`127.0.0.1:${first.port}`),
  );
});

test('bad options fail with SY_CONFIG_INVALID naming the field', async () => {
  const source = manualSource(new Map()).source;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ source, port: 70_000 }, /xds\.port:/],
    [{ source, prot: 1 }, /xds\.prot: unknown field \(did you mean "port"\?\)/],
    [{ port: 0 }, /xds\.source: expected an XdsSnapshotSource/],
    [{ source, services: ['greeter', 'bad name'] }, /xds\.services/],
    [{ source, services: { greeter: { lbPolicy: 'least_request' } } }, /xds\.services\.greeter\.lbPolicy/],
    [{ source, debounce: 'soon' }, /xds\.debounce: expected a duration/],
    [{ source, connectTimeout: 0 }, /xds\.connectTimeout/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(
      createXdsServer(options as never),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && message.test(err.message),
      `${JSON.stringify(Object.keys(options))} -> ${message}`,
    );
  }
});
