import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRegistry, createRegistryServer } from '@switchyard/discovery';
import { validateEnvoyConfig } from '@switchyard/mesh';
import { parse } from 'yaml';

const bin = fileURLToPath(new URL('./bin.ts', import.meta.url));
const shopConfig = fileURLToPath(new URL('../../../examples/shop/switchyard.yaml', import.meta.url));

/** Runs `switchyard <args>` as a real process; resolves with its exit code and output (30 s deadline). */
function switchyard(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--conditions=@switchyard/source', bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-mesh-envoy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('switchyard mesh envoy (process)', () => {
  it('exits 0 printing valid YAML, 1 with paths for a broken config, 2 for usage errors', async (t) => {
    const ok = await switchyard([
      'mesh',
      'envoy',
      '-c',
      shopConfig,
      '--mode',
      'sidecar',
      '--service',
      'payments',
      '--eds',
      'xds.internal:18000',
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(validateEnvoyConfig(parse(ok.out)), []);

    const broken = join(tempDir(t), 'envoy.yaml');
    writeFileSync(broken, 'static_resources:\n  clusters:\n    - name: orders\n      lb_polcy: ROUND_ROBIN\n');
    const bad = await switchyard(['mesh', 'envoy', '--check', broken]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.err,
      /static_resources\.clusters\[0\]\.lb_polcy: unknown field of envoy\.config\.cluster\.v3\.Cluster \(did you mean "lb_policy"\?\)/,
    );

    const usage = await switchyard(['mesh', 'envoy', '-c', shopConfig, '--mode', 'ambient']);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /--mode: expected front-proxy or sidecar/);
  });

  it('reads static endpoints from the registry with --registry', async (t) => {
    const registry = createRegistry();
    t.after(() => registry.close());
    const server = await createRegistryServer({ registry, host: '127.0.0.1', port: 0 });
    t.after(() => server.close());
    registry.register({ ID: 'orders-1', Name: 'orders', Address: '127.0.0.1', Port: 3101 });
    registry.register({ ID: 'orders-2', Name: 'orders', Address: '127.0.0.1', Port: 3102 });
    registry.register({ ID: 'inventory-1', Name: 'inventory', Address: '127.0.0.1', Port: 3201 });

    const result = await switchyard(['mesh', 'envoy', '-c', shopConfig, '--registry', server.url, '--format', 'json']);
    assert.equal(result.code, 0, result.err);
    const bootstrap = JSON.parse(result.out);
    assert.deepEqual(validateEnvoyConfig(bootstrap), []);
    const ports = (name: string) =>
      bootstrap.static_resources.clusters
        .find((c: { name: string }) => c.name === name)
        .load_assignment.endpoints.flatMap(
          (l: { lb_endpoints: Array<{ endpoint: { address: { socket_address: { port_value: number } } } }> }) =>
            l.lb_endpoints.map((e) => e.endpoint.address.socket_address.port_value),
        );
    assert.deepEqual(ports('orders'), [3101, 3102]);
    assert.deepEqual(ports('inventory'), [3201]);
    assert.deepEqual(ports('payments'), []);
  });
});
