/**
 * End to end: a proxyless gRPC client (`@grpc/grpc-js-xds`, in a child process whose bootstrap
 * points at our ADS server) calls Greeter backends registered in the embedded registry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRegistry } from '@switchyard/discovery';
import {
  type GreeterBackend,
  spawnXdsGreeterClient,
  startGreeter,
  writeGreeterProto,
} from './xds/internal/greeter-fixture.ts';
import { registrySnapshotSource } from './xds/registry-snapshot-source.ts';
import type { XdsEvent } from './xds/types.ts';
import { createXdsServer } from './xds-server.ts';

const silent = { warn() {} };

/** Calls in batches of `batch` until `done(counts)` holds; returns the ms it took. */
async function callUntil(
  client: { calls(n: number): Promise<Record<string, number>> },
  done: (counts: Record<string, number>) => boolean,
  what: string,
  deadlineMs = 5000,
  batch = 6,
): Promise<number> {
  const start = performance.now();
  let last: Record<string, number> = {};
  while (performance.now() - start < deadlineMs) {
    last = await client.calls(batch);
    if (done(last)) return performance.now() - start;
  }
  assert.fail(`${what} not seen within ${deadlineMs} ms; last batch: ${JSON.stringify(last)}`);
}

test('a grpc-js-xds client balances over registered instances and follows registry changes', async (t) => {
  const proto = writeGreeterProto();
  t.after(() => proto.dispose());
  const backends: GreeterBackend[] = [];
  t.after(() => Promise.all(backends.map((b) => b.close())));
  for (const id of ['greeter-1', 'greeter-2', 'greeter-3']) backends.push(await startGreeter(proto.path, id));
  const [b1, b2, b3] = backends as [GreeterBackend, GreeterBackend, GreeterBackend];

  const registry = createRegistry();
  t.after(() => registry.close());
  registry.register({ Name: 'greeter', ID: b1.id, Address: '127.0.0.1', Port: b1.port });
  registry.register({ Name: 'greeter', ID: b2.id, Address: '127.0.0.1', Port: b2.port });

  const events: XdsEvent[] = [];
  const xds = await createXdsServer({
    source: registrySnapshotSource(registry),
    port: 0,
    debounce: '50ms',
    logger: silent,
    onEvent: (e) => events.push(e),
  });
  t.after(() => xds.close());
  assert.equal(xds.host, '127.0.0.1');

  const client = spawnXdsGreeterClient(xds.address, proto.path);
  t.after(() => client.close());

  // Balanced: once both subchannels are connected, round robin alternates strictly, no failures.
  await callUntil(client, (c) => (c['greeter-1'] ?? 0) > 0 && (c['greeter-2'] ?? 0) > 0, 'both instances');
  assert.deepEqual(await client.calls(20), { 'greeter-1': 10, 'greeter-2': 10 });
  const acked = events.filter((e) => e.type === 'ack').map((e) => (e.type === 'ack' ? e.typeUrl : ''));
  for (const type of ['Listener', 'RouteConfiguration', 'Cluster', 'ClusterLoadAssignment']) {
    assert.ok(
      acked.some((u) => u.endsWith(`.${type}`)),
      `client ACKed a ${type}`,
    );
  }
  assert.equal(events.filter((e) => e.type === 'nack').length, 0);

  // Deregistered: stops receiving calls within a bounded time.
  registry.deregister(b2.id);
  const removedMs = await callUntil(
    client,
    (c) => c['greeter-2'] === undefined && c['greeter-1'] === 6,
    'greeter-2 gone',
  );
  const afterRemoval = await client.calls(10);
  assert.deepEqual(afterRemoval, { 'greeter-1': 10 });

  // Registered: starts receiving calls.
  registry.register({ Name: 'greeter', ID: b3.id, Address: '127.0.0.1', Port: b3.port });
  const addedMs = await callUntil(client, (c) => (c['greeter-3'] ?? 0) > 0, 'greeter-3 added');
  const balanced = await client.calls(20);
  assert.deepEqual(balanced, { 'greeter-1': 10, 'greeter-3': 10 });

  t.diagnostic(
    `push latency (registry change -> client calls follow): removal ${removedMs.toFixed(0)} ms, addition ${addedMs.toFixed(0)} ms`,
  );
  assert.equal(events.filter((e) => e.type === 'nack').length, 0, 'the client accepted every version');
});

test('a service with no instance left fails calls as UNAVAILABLE, and recovers when one registers', async (t) => {
  const proto = writeGreeterProto();
  t.after(() => proto.dispose());
  const backend = await startGreeter(proto.path, 'solo-1');
  t.after(() => backend.close());
  const registry = createRegistry();
  t.after(() => registry.close());
  registry.register({ Name: 'greeter', ID: 'solo-1', Address: '127.0.0.1', Port: backend.port });

  // Listed in `services`, so the Listener and Cluster stay while the instance list is empty.
  const xds = await createXdsServer({
    source: registrySnapshotSource(registry),
    services: ['greeter'],
    port: 0,
    debounce: 20,
    logger: silent,
  });
  t.after(() => xds.close());
  const client = spawnXdsGreeterClient(xds.address, proto.path);
  t.after(() => client.close());

  assert.deepEqual(await client.calls(3), { 'solo-1': 3 });
  registry.deregister('solo-1');
  await callUntil(client, (c) => c['error:UNAVAILABLE'] === 2, 'UNAVAILABLE with no instances', 10_000, 2);
  registry.register({ Name: 'greeter', ID: 'solo-1', Address: '127.0.0.1', Port: backend.port });
  await callUntil(client, (c) => c['solo-1'] === 2, 'recovery after re-registration', 10_000, 2);
});
