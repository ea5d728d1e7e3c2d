/**
 * `switchyard up` with its control planes exposed: the registry API on 0.0.0.0 needs an ACL,
 * instances still register (with the token `up` hands them), every refusal is a 403 with a JSON
 * error, and refusals of the registry and the xDS server are counted on the admin `/metrics`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openRawAdsStream } from '@switchyard/mesh/testing';
import { parseConfig } from './load-config.ts';
import { startSystem } from './system.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-up-security-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(import.meta.dirname, 'bin.ts');
const fixture = join(import.meta.dirname, 'testing', 'fixture-service.ts');

const writeToken = 'reg-write-7d3f0a92c4e1b856';
const readToken = 'reg-read-41c9e07b2d6a83f5';
const xdsToken = 'xds-tok-a2f61c0e9d4b7385';
/** `grpc.status.UNAUTHENTICATED` (the cli does not depend on @grpc/grpc-js). */
const UNAUTHENTICATED = 16;
const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

/** One sample of the Prometheus text, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Asserts a 403 with `application/json` and `{ error: { code, message } }`; returns the message. */
async function refusal(res: Response, code: string): Promise<string> {
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  return body.error.message;
}

describe('switchyard up: exposed control planes', { timeout: 60_000 }, () => {
  it('refuses to start with the registry on 0.0.0.0 and no registry.acl, naming registry.acl (exit 2)', async (t) => {
    const work = mkdtempSync(join(dir, 'no-acl-'));
    const config = join(work, 'switchyard.yaml');
    writeFileSync(
      config,
      [
        'version: 1',
        'name: open',
        'registry: { host: 0.0.0.0, port: 0 }',
        'admin: false',
        'gateway: { port: 0, routes: [{ path: /api, service: api }] }',
        'services:',
        `  api: { command: [node, ${JSON.stringify(fixture)}] }`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--conditions=@switchyard/source', bin, 'up', '--config', config], {
      cwd: work,
      env: { ...process.env, SWITCHYARD_REGISTRY_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = await once(child, 'exit');
    clearTimeout(timer);
    assert.equal(code, 2, `exit code 2 (config invalid); output:\n${output}`);
    assert.match(output, /registry\.acl: required when the registry API listens on 0\.0\.0\.0/);
    assert.doesNotMatch(output, /is up in/);
  });

  it('with registry.acl: instances register, refusals are 403 JSON, and registry and xDS refusals are counted', async (t) => {
    const work = mkdtempSync(join(dir, 'acl-'));
    const yaml = [
      'version: 1',
      'name: guarded',
      `dataDir: ${JSON.stringify(join(work, 'data'))}`,
      'startupTimeout: 15s',
      'shutdownTimeout: 3s',
      'registry:',
      '  host: 0.0.0.0',
      '  port: 0',
      '  acl:',
      '    tokens:',
      '      - { token: "${env:REGISTRY_WRITE_TOKEN}", policy: write, name: services }',
      '      - { token: "${env:REGISTRY_READ_TOKEN}", policy: read, name: dashboards }',
      'admin: { port: 0 }',
      'xds: { port: 0, debounce: 10ms, auth: { tokens: [{ token: "${env:XDS_TOKEN}" }] } }',
      'gateway: { port: 0, routes: [{ path: /api, service: api }] }',
      'services:',
      `  api: { command: [node, ${JSON.stringify(fixture)}], replicas: 2 }`,
    ].join('\n');
    const path = join(work, 'switchyard.yaml');
    writeFileSync(path, yaml);
    const env = { REGISTRY_WRITE_TOKEN: writeToken, REGISTRY_READ_TOKEN: readToken, XDS_TOKEN: xdsToken };
    let output = '';
    const system = await startSystem(
      { ...parseConfig(yaml, path, env, work), path, baseDir: work },
      { write: (text) => (output += text), colour: false },
    );
    t.after(() => system.stop());

    // Both instances registered through the ACL with the write token `up` gave them, and turned healthy.
    assert.equal(system.rows.length, 2);
    const registry = system.registryUrl;
    assert.match(registry, /^http:\/\/127\.0\.0\.1:\d+$/);
    const listed = await fetch(`${registry}/v1/agent/services`, { headers: { 'x-consul-token': readToken } });
    assert.equal(listed.status, 200);
    assert.deepEqual(
      Object.values((await listed.json()) as Record<string, { Service: string }>).map((s) => s.Service),
      ['api', 'api'],
    );

    // No token: 403 with a JSON error.
    assert.match(
      await refusal(await fetch(`${registry}/v1/agent/services`), 'SY_DISCOVERY_ACL_PERMISSION_DENIED'),
      /^Permission denied: anonymous token lacks permission 'service:read'$/,
    );
    // A read token cannot register an instance (and take the service's traffic).
    const hijack = await fetch(`${registry}/v1/agent/service/register`, {
      method: 'PUT',
      headers: { 'x-consul-token': readToken },
      body: JSON.stringify({ Name: 'api', ID: 'api-rogue', Address: '127.0.0.1', Port: 1 }),
    });
    assert.match(
      await refusal(hijack, 'SY_DISCOVERY_ACL_PERMISSION_DENIED'),
      /^Permission denied: token with policy 'read' lacks permission 'service:write'$/,
    );
    // A token the ACL does not know.
    const unknown = await fetch(`${registry}/v1/health/service/api`, {
      headers: { authorization: 'Bearer reg-guess-0000000000000000' },
    });
    assert.equal(await refusal(unknown, 'SY_DISCOVERY_ACL_NOT_FOUND'), 'ACL not found');
    assert.equal(system.instanceStates().length, 2);

    // The xDS server refuses an ADS stream without its token.
    const ads = openRawAdsStream(system.xdsAddress ?? '');
    t.after(() => ads.close());
    ads.send({ node: { id: 'intruder' }, type_url: CLUSTER, resource_names: [] });
    assert.equal((await ads.status).code, UNAUTHENTICATED);

    const metrics = await fetch(`${system.adminUrl}/metrics`);
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    const registryRefused = (reason: string) =>
      sample(text, `switchyard_registry_auth_refused_total{reason="${reason}"}`);
    assert.equal(registryRefused('missing_token'), 1);
    assert.equal(registryRefused('unknown_token'), 1);
    assert.equal(registryRefused('insufficient_policy'), 1);
    assert.equal(sample(text, 'switchyard_xds_auth_refused_total{reason="missing_token"}'), 1);
    assert.equal(sample(text, 'switchyard_xds_auth_refused_total{reason="unknown_token"}'), 0);

    // No token reaches the output or the metrics.
    for (const secret of [writeToken, readToken, xdsToken]) {
      assert.ok(!output.includes(secret), 'up output shows a token');
      assert.ok(!text.includes(secret), '/metrics shows a token');
    }
  });
});
