/**
 * `switchyard up` with an `xds:` section: the xDS server runs beside the registry and serves the
 * supervised instances to ADS clients (Envoy, proxyless gRPC).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openRawAdsStream } from '@switchyard/mesh/testing';
import { parseConfig } from './load-config.ts';
import { startSystem } from './system.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-xds-up-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fixture = join(import.meta.dirname, 'testing', 'fixture-service.ts');
const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const ENDPOINTS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

describe('switchyard up: xds', () => {
  it('serves the supervised instances over ADS and prints where', async (t) => {
    const yaml = [
      'version: 1',
      'name: meshy',
      `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
      'startupTimeout: 10s',
      'shutdownTimeout: 3s',
      'registry: { port: 0 }',
      'admin: false',
      'xds: { port: 0, debounce: 10ms }',
      'gateway: { port: 0, routes: [{ path: /api, service: api }] }',
      'services:',
      `  api: { command: [node, ${JSON.stringify(fixture)}], replicas: 2 }`,
    ].join('\n');
    const path = join(dir, 'switchyard.yaml');
    writeFileSync(path, yaml);
    let output = '';
    const system = await startSystem(
      { ...parseConfig(yaml, path, {}), path, baseDir: dir },
      { write: (text) => (output += text), colour: false },
    );
    t.after(() => system.stop());
    const address = system.xdsAddress;
    assert.match(address ?? '', /^127\.0\.0\.1:\d+$/);
    assert.match(output, new RegExp(`xds +${address?.replace(/\./g, '\\.')}`));

    const stream = openRawAdsStream(address ?? '');
    t.after(() => stream.close());
    stream.send({ node: { id: 'test' }, type_url: CLUSTER, resource_names: [] });
    const clusters = await stream.next();
    assert.equal(clusters.type_url, CLUSTER);
    assert.ok(
      clusters.resources.some((r) => r.value.includes(Buffer.from('api'))),
      'a cluster for the service "api"',
    );
    stream.send({ node: { id: 'test' }, type_url: ENDPOINTS, resource_names: ['api'] });
    const endpoints = await stream.next();
    assert.equal(endpoints.type_url, ENDPOINTS);
    assert.equal(endpoints.resources.length, 1);
    // Both instances' ports are in the assignment, as encoded `port_value` fields.
    for (const instance of system.instances) {
      const port = Number(new URL(system.rows.find((r) => r.instance === instance.spec.id)?.url ?? '').port);
      assert.ok(endpoints.resources[0]?.value.includes(portField(port)), `port ${port} of ${instance.spec.id}`);
    }
  });
});

/** The protobuf encoding of `port_value` (field 3, varint: tag 0x18) of an Envoy SocketAddress. */
function portField(port: number): Buffer {
  const bytes = [0x18];
  let v = port;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}
