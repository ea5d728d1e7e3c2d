import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createGateway, type Gateway } from '@switchyard/gateway';
import { SpanStore } from '@switchyard/telemetry';
import { switchyardConfigSchema } from '../config-schema.ts';
import { startUpAdmin, type UpAdmin } from './up-admin.ts';

const run = promisify(execFile);
const READ_TOKEN = 'read-token-0123456789abcdef';

/** A service process: sets up telemetry from the environment `up` gives it, records one span, flushes. */
const childScript = `
import { setupTelemetry, traced } from '@switchyard/telemetry';
const telemetry = setupTelemetry({ serviceName: 'ingest-child' });
traced('child work', () => {});
await telemetry.forceFlush();
await telemetry.shutdown();
`;

describe('up admin with tokens: the instances export traces with an ingest token of their own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-ingest-'));
  let gateway: Gateway;
  let admin: UpAdmin | undefined;
  const spans = new SpanStore({ capacity: 100 });

  before(async () => {
    gateway = await createGateway({ options: { port: 0, routes: [] } });
    const config = switchyardConfigSchema.parse({
      version: 1,
      gateway: { routes: [] },
      admin: { host: '127.0.0.1', port: 0, auth: { tokens: [{ token: READ_TOKEN, scope: 'read' }] } },
    });
    admin = await startUpAdmin({
      config,
      dataDir: dir,
      gatewayUrl: gateway.url,
      registryUrl: 'http://127.0.0.1:1',
      startedAt: Date.now(),
      gateway: gateway.admin,
      services: () => [],
      spanStore: spans,
      log: () => {},
    });
  });

  after(async () => {
    await admin?.close();
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands the instances an endpoint and a header, and their spans arrive', async () => {
    const env = admin?.childEnv ?? {};
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, admin?.url);
    assert.match(env.OTEL_EXPORTER_OTLP_HEADERS ?? '', /^authorization=Bearer%20[A-Za-z0-9_-]{43}$/);
    await run(process.execPath, ['--conditions=@switchyard/source', '--input-type=module', '-e', childScript], {
      cwd: new URL('.', import.meta.url).pathname,
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 20_000,
    });
    const traces = spans.recentTraces({ service: 'ingest-child' });
    assert.equal(traces.length, 1);
    assert.equal(traces[0]?.name, 'child work');
  });

  it('opens POST /v1/traces and nothing else to the ingest token', async () => {
    const token = decodeURIComponent((admin?.childEnv.OTEL_EXPORTER_OTLP_HEADERS ?? '').split('Bearer%20')[1] ?? '');
    const bearer = { authorization: `Bearer ${token}` };
    const read = await fetch(`${admin?.url}/admin/services`, { headers: bearer });
    assert.equal(read.status, 401);
    const wrong = await fetch(`${admin?.url}/v1/traces`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-the-ingest-token-0000', 'content-type': 'application/json' },
      body: '{"resourceSpans":[]}',
    });
    assert.equal(wrong.status, 401);
    const readToken = await fetch(`${admin?.url}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${READ_TOKEN}`, 'content-type': 'application/json' },
      body: '{"resourceSpans":[]}',
    });
    assert.equal(readToken.status, 403, 'a read token may not write spans');
    const ok = await fetch(`${admin?.url}/v1/traces`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: '{"resourceSpans":[]}',
    });
    assert.equal(ok.status, 200);
  });
});
