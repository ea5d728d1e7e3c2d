import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { isSwitchyardError, type SwitchyardError } from '@switchyard/core';
import { createRegistry } from '@switchyard/discovery';
import { globalMetrics, noopMetrics, setupTelemetry, traced } from '@switchyard/telemetry';
import { startOtlpReceiver } from '@switchyard/telemetry/testing';
import { parseConfig } from './load-config.ts';
import { startSystemTelemetry } from './system-telemetry.ts';
import { upTelemetrySchema } from './telemetry-config.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `promtool check metrics` on an exposition; fails (never skips) when promtool is missing. */
function promtool(exposition: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.PROMTOOL ?? 'promtool', ['check', 'metrics'], { stdio: 'pipe' });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new Error(
          err.code === 'ENOENT'
            ? 'promtool not found: this test needs it and does not skip. Install it with: apt-get install prometheus (or set PROMTOOL)'
            : `promtool could not run: ${err.message}`,
        ),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.trim() });
    });
    child.stdin.end(exposition);
  });
}

const config = (input: unknown) => upTelemetrySchema.parse(input);

describe('switchyard up telemetry', () => {
  it('serves /metrics with the registry instances by service and health, accepted by promtool', async () => {
    const system = await startSystemTelemetry(config({ metrics: { port: 0 } }), {});
    cleanups.push(() => system.close());
    const registry = createRegistry();
    cleanups.push(() => registry.close());
    system.watchRegistry(registry);
    assert.notEqual(globalMetrics(), noopMetrics, 'components built next record into the real metrics');

    registry.register({ Name: 'orders', ID: 'orders-1', Check: { TTL: '1m', Status: 'passing' } });
    registry.register({ Name: 'orders', ID: 'orders-2', Check: { TTL: '1m', Status: 'passing' } });
    registry.register({ Name: 'orders', ID: 'orders-3', Check: { TTL: '1m', Status: 'critical' } });
    registry.register({ Name: 'payments', ID: 'payments-1', Check: { TTL: '1m', Status: 'warning' } });

    assert.match(system.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(system.metricsUrl ?? '');
    assert.equal(res.status, 200);
    const text = await res.text();
    const gauge = (labels: string) =>
      Number(new RegExp(`^switchyard_registry_instances\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? -1);
    assert.equal(gauge('service="orders",health="passing"'), 2);
    assert.equal(gauge('service="orders",health="critical"'), 1);
    assert.equal(gauge('service="payments",health="warning"'), 1);
    assert.match(text, /^process_cpu_seconds_total /m, 'the supervisor’s process metrics too');

    registry.deregister('orders-1');
    const after = await (await fetch(system.metricsUrl ?? '')).text();
    assert.match(
      after,
      /^switchyard_registry_instances\{service="orders",health="passing"\} 1$/m,
      'read at scrape time',
    );

    const lint = await promtool(text);
    assert.equal(lint.code, 0, `promtool rejected the exposition:\n${lint.output}`);
  });

  it('exports the components’ spans to the configured collector and gives services its base URL', async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const base = receiver.url.replace(/\/v1\/traces$/, '');
    const system = await startSystemTelemetry(config({ otlp: { endpoint: base }, metrics: false }), {});
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await system.close();
    });
    assert.equal(system.metricsUrl, undefined);
    assert.deepEqual(system.env, { OTEL_EXPORTER_OTLP_ENDPOINT: base });
    traced('registry.sync', () => 1);
    await system.close();
    closed = true;
    const [span] = await receiver.waitForSpans((s) => s.name === 'registry.sync', 5000);
    assert.equal(span?.service, 'switchyard');
    assert.equal(globalMetrics(), noopMetrics, 'close restores the global metrics');
  });

  it('passes on OTEL_EXPORTER_OTLP_ENDPOINT from its own environment when otlp is not configured', async () => {
    const system = await startSystemTelemetry(config({ metrics: false }), {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
    });
    cleanups.push(() => system.close());
    assert.deepEqual(system.env, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' });
  });

  it('fails with SY_CLI_METRICS_LISTEN_FAILED on a port in use, and undoes the setup', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const { port } = blocker.address() as AddressInfo;
    await assert.rejects(
      startSystemTelemetry(config({ metrics: { port } }), {}),
      (err) => isSwitchyardError(err, 'SY_CLI_METRICS_LISTEN_FAILED') && err.message.includes(`127.0.0.1:${port}`),
    );
    assert.equal(globalMetrics(), noopMetrics);
    const again = setupTelemetry({ serviceName: 'again', exporters: { otlp: false } });
    await again.shutdown();
  });
});

describe('telemetry: in switchyard.yaml', () => {
  const base = 'version: 1\ngateway:\n  port: 0\n  routes: []\n';

  it('is off when absent, and on with defaults when present', () => {
    assert.equal(parseConfig(base, '/x/switchyard.yaml', {}).config.telemetry, undefined);
    assert.deepEqual(parseConfig(`${base}telemetry: {}\n`, '/x/switchyard.yaml', {}).config.telemetry, {
      serviceName: 'switchyard',
      samplingRatio: 1,
      metrics: { host: '127.0.0.1', port: 9464 },
    });
  });

  it('rejects bad values naming the field', () => {
    let error: SwitchyardError | undefined;
    try {
      parseConfig(
        `${base}telemetry:\n  otlp: { endpoint: not-a-url }\n  metrics: { prot: 9 }\n`,
        '/x/switchyard.yaml',
        {},
      );
    } catch (err) {
      error = err as SwitchyardError;
    }
    assert.ok(error && isSwitchyardError(error, 'SY_CONFIG_INVALID'), 'rejected');
    assert.match(error.message, /telemetry\.otlp\.endpoint/);
    assert.match(error.message, /switchyard\.yaml:7:14 telemetry\.metrics\.prot: unknown field/);
  });
});
