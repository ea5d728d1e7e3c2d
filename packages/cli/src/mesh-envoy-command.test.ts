import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateEnvoyConfig } from '@switchyard/mesh';
import { parse } from 'yaml';
import { type CommandIo, MeshEnvoyExit, type MeshEnvoyOptions, runMeshEnvoy } from './mesh-envoy-command.ts';

const shopConfig = fileURLToPath(new URL('../../../examples/shop/switchyard.yaml', import.meta.url));

async function run(opts: Partial<MeshEnvoyOptions>) {
  let out = '';
  let err = '';
  const io: CommandIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  };
  const code = await runMeshEnvoy({ config: shopConfig, ...opts }, io);
  return { code, out, err };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-mesh-envoy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// biome-ignore lint/suspicious/noExplicitAny: assertions walk untyped Envoy JSON
type Json = Record<string, any>;

describe('switchyard mesh envoy', () => {
  it("prints a valid front-proxy bootstrap in YAML for the shop's switchyard.yaml", async () => {
    const { code, out, err } = await run({});
    assert.equal(code, MeshEnvoyExit.Ok, err);
    const bootstrap = parse(out) as Json;
    assert.deepEqual(validateEnvoyConfig(bootstrap), []);
    assert.deepEqual(
      bootstrap.static_resources.clusters.map((c: Json) => c.name),
      ['orders', 'inventory', 'payments'],
    );
    const port = Number(process.env.SWITCHYARD_GATEWAY_PORT ?? 8080);
    assert.equal(bootstrap.static_resources.listeners[0].address.socket_address.port_value, port);
    assert.match(err, /warning: no endpoints for orders, inventory, payments/);
  });

  it('prints a valid sidecar on EDS/ADS as JSON', async () => {
    const { code, out, err } = await run({
      mode: 'sidecar',
      service: 'orders',
      appPort: '3001',
      eds: '127.0.0.1:18000',
      format: 'json',
      healthPath: '/health',
    });
    assert.equal(code, MeshEnvoyExit.Ok, err);
    const bootstrap = JSON.parse(out) as Json;
    assert.deepEqual(validateEnvoyConfig(bootstrap), []);
    assert.equal(bootstrap.node.id, 'orders-sidecar');
    const clusters = bootstrap.static_resources.clusters as Json[];
    assert.deepEqual(
      clusters.map((c) => [c.name, c.type]),
      [
        ['local_orders', 'STATIC'],
        ['orders', 'EDS'],
        ['inventory', 'EDS'],
        ['payments', 'EDS'],
        ['xds_cluster', 'STATIC'],
      ],
    );
    assert.equal(clusters[1]?.health_checks[0].http_health_check.path, '/health');
    assert.equal(err, '');
  });

  it('writes to -o', async (t) => {
    const file = join(tempDir(t), 'envoy.yaml');
    const { code, out } = await run({ output: file });
    assert.equal(code, MeshEnvoyExit.Ok);
    assert.equal(out, '');
    assert.deepEqual(validateEnvoyConfig(parse(readFileSync(file, 'utf8'))), []);
  });

  it('--check: exit 1 with every issue by path for a broken Envoy config, 0 for a good one', async (t) => {
    const dir = tempDir(t);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(
      broken,
      `static_resources:
  clusters:
    - name: ""
      type: STRICTDNS
      lb_polcy: ROUND_ROBIN
      connect_timeout: 250
`,
    );
    const bad = await run({ check: broken });
    assert.equal(bad.code, MeshEnvoyExit.Invalid);
    assert.match(bad.err, /static_resources\.clusters\[0\]\.lb_polcy: unknown field/);
    assert.match(bad.err, /static_resources\.clusters\[0\]\.type: unknown value "STRICTDNS"/);
    assert.match(bad.err, /static_resources\.clusters\[0\]\.connect_timeout: expected a duration string/);
    assert.match(bad.err, /static_resources\.clusters\[0\]\.name: must not be empty/);

    const good = join(dir, 'good.yaml');
    writeFileSync(good, (await run({})).out);
    const ok = await run({ check: good });
    assert.equal(ok.code, MeshEnvoyExit.Ok);
    assert.match(ok.out, /valid Envoy v3 bootstrap/);
  });

  it('exit 1 with the path when a gateway route has no Envoy equivalent', async (t) => {
    const file = join(tempDir(t), 'switchyard.yaml');
    writeFileSync(
      file,
      'version: 1\ngateway:\n  routes:\n    - path: /api/users/:id\n      match: exact\n      service: users\n      rewrite: /v2/{*}\n',
    );
    // The gateway itself refuses {*} on an exact route, so this is a usage error (2) first...
    assert.equal((await run({ config: file })).code, MeshEnvoyExit.Usage);
    // ...while nine parameters and the rest need ten regex groups, one more than Envoy substitutes.
    writeFileSync(
      file,
      'version: 1\ngateway:\n  routes:\n    - path: /a/:p1/:p2/:p3/:p4/:p5/:p6/:p7/:p8/:p9/*\n      service: deep\n      rewrite: /{p1}/{*}\n',
    );
    const deep = await run({ config: file });
    assert.equal(deep.code, MeshEnvoyExit.Invalid);
    assert.match(deep.err, /gateway\.routes\[0\]\.rewrite: Envoy substitutions reach 9 groups at most/);
  });

  it('exit 2 for bad flags or an unreadable config', async () => {
    for (const opts of [
      { mode: 'mesh' },
      { format: 'xml' },
      { eds: 'localhost' },
      { mode: 'sidecar' },
      { mode: 'sidecar', service: 'orders', appPort: '0' },
      { config: '/nonexistent/switchyard.yaml' },
    ]) {
      const { code, err } = await run(opts);
      assert.equal(code, MeshEnvoyExit.Usage, JSON.stringify(opts));
      assert.match(err, /error/);
    }
  });
});
