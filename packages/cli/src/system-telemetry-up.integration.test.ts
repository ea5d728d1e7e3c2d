/**
 * `switchyard up` with a `telemetry:` section, end to end in one process: the registry gauge on
 * the supervisor's `/metrics`, and a service child that learns the collector from
 * `OTEL_EXPORTER_OTLP_ENDPOINT` and exports its server spans to it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { startOtlpReceiver } from '@switchyard/telemetry/testing';
import { parseConfig } from './load-config.ts';
import { startSystem } from './system.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-up-telemetry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A service that turns telemetry on itself; everything else comes from `up`'s environment.
const serviceSource = `
import { startService } from '@switchyard/service';
await startService({
  name: process.env.SWITCHYARD_SERVICE_NAME,
  telemetry: { exporters: { otlp: { scheduledDelay: 50 } }, metrics: { defaultMetrics: false } },
  routeOf: () => '/hello',
  handler: (_req, res) => res.end('hello'),
});
`;

it('switchyard up: registry metrics on /metrics, OTLP endpoint passed to services', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const base = receiver.url.replace(/\/v1\/traces$/, '');
  const yaml = [
    'version: 1',
    `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
    'registry: { port: 0 }',
    'admin: { port: 0 }',
    'gateway: { port: 0, routes: [{ path: /hello, service: hello }] }',
    `telemetry: { otlp: { endpoint: ${JSON.stringify(base)} }, metrics: { port: 0 } }`,
    'services:',
    // cwd inside the repository, so the evaluated module resolves @switchyard/service.
    `  hello: { command: [node, --input-type=module, -e, ${JSON.stringify(serviceSource)}], cwd: ${JSON.stringify(import.meta.dirname)}, replicas: 2 }`,
  ].join('\n');
  const loaded = {
    ...parseConfig(yaml, join(dir, 'switchyard.yaml'), {}),
    path: join(dir, 'switchyard.yaml'),
    baseDir: dir,
  };
  let output = '';
  const system = await startSystem(loaded, { write: (text) => (output += text), colour: false });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await system.stop();
  });

  assert.match(output, /metrics {3}http:\/\/127\.0\.0\.1:\d+\/metrics/);
  const metrics = await (await fetch(system.metricsUrl ?? '')).text();
  assert.match(metrics, /^switchyard_registry_instances\{service="hello",health="passing"\} 2$/m);

  const res = await fetch(`${system.gatewayUrl}/hello`);
  assert.equal(await res.text(), 'hello');
  await system.stop();
  stopped = true;

  // The instance flushed its spans on SIGTERM; they name the service from SWITCHYARD_SERVICE_NAME.
  const [span] = await receiver.waitForSpans((s) => s.name === 'GET /hello' && s.kind === 'server', 5000);
  assert.equal(span?.service, 'hello');
  assert.match(String(span?.resource['service.instance.id']), /^hello-[12]$/);
});
