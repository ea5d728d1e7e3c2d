// The README's xDS example, run as a test. The client side (a proxyless gRPC client dialing
// xds:///greeter) is exercised end to end in xds-grpc-client.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRegistry } from '@switchyard/discovery';
import { registrySnapshotSource } from './xds/registry-snapshot-source.ts';
import { createXdsServer } from './xds-server.ts';

test('README: serve the registry over xDS', async () => {
  // --- example start
  const registry = createRegistry();
  registry.register({ Name: 'greeter', ID: 'greeter-1', Address: '127.0.0.1', Port: 50051 });

  const xds = await createXdsServer({
    source: registrySnapshotSource(registry),
    port: 0, // default 18000
    services: { greeter: { lbPolicy: 'round_robin', routeTimeout: '5s' } },
    onEvent: (e) => {
      if (e.type === 'nack') console.error(`${e.node.id} rejected ${e.typeUrl} v${e.version}: ${e.message}`);
    },
  });

  // Point a gRPC client at it: GRPC_XDS_BOOTSTRAP_CONFIG=<this JSON>, then dial xds:///greeter.
  const bootstrap = {
    xds_servers: [{ server_uri: xds.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'my-client' },
  };
  // --- example end

  assert.match(bootstrap.xds_servers[0]?.server_uri ?? '', /^127\.0\.0\.1:\d+$/);
  assert.equal(xds.versions()['type.googleapis.com/envoy.config.listener.v3.Listener'], '1');
  await xds.close();
  await registry.close();
});
