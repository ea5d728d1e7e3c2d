/**
 * Tracing on, collector unresponsive: the shop's `telemetry:` section points at an OTLP
 * endpoint that accepts connections and never answers (the worst case: a refused connection
 * fails at once). Orders are still placed and approved, the choreography still runs, and
 * `switchyard up` still stops cleanly: exports are dropped and counted, never waited on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isMap, parseDocument } from 'yaml';
import { alive, eventually, readJsonWhenPresent, root, runCli, type UpProcess } from './helpers.ts';

interface Ready {
  gateway: string;
  instances: Array<{ id: string; service: string; pid: number }>;
}

describe('the shop with tracing on and its collector hanging', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-trace-down-e2e-'));
  const readyFile = join(dir, 'ready.json');
  const sockets = new Set<Socket>();
  // Accepts every connection, reads nothing back: an export waits until its own timeout.
  const blackhole = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  let connections = 0;
  blackhole.on('connection', () => {
    connections += 1;
  });
  let up: UpProcess;
  let ready: Ready;

  before(async () => {
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const { port } = blackhole.address() as { port: number };
    const doc = parseDocument(readFileSync(`${root}examples/shop/switchyard.yaml`, 'utf8'));
    const services = doc.get('services');
    assert.ok(isMap(services));
    for (const item of services.items) doc.setIn(['services', String(item.key), 'cwd'], `${root}examples/shop`);
    doc.set('telemetry', doc.createNode({ otlp: { endpoint: `http://127.0.0.1:${port}` }, metrics: false }));
    const config = join(dir, 'switchyard.yaml');
    writeFileSync(config, doc.toString());
    up = runCli(['up', '-c', config, '--ready-file', readyFile], {
      SWITCHYARD_GATEWAY_PORT: '0',
      SWITCHYARD_REGISTRY_PORT: '0',
      SHOP_DATA_DIR: join(dir, 'data'),
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    ready = await eventually(
      'the shop to report ready',
      () => {
        if (up.child.exitCode !== null) throw new Error(`switchyard up exited early:\n${up.output()}`);
        return readJsonWhenPresent<Ready>(readyFile);
      },
      30_000,
    );
  });

  after(async () => {
    if (up.child.exitCode === null && up.child.signalCode === null) {
      up.child.kill('SIGKILL');
      await up.exited;
    }
    for (const instance of ready?.instances ?? []) if (alive(instance.pid)) process.kill(instance.pid, 'SIGKILL');
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackhole.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('approves orders and runs the choreography while every export hangs', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${ready.gateway}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customer: 'ada', items: [{ sku: 'SKU-CABLE', quantity: 1, price: 9.99 }], total: 9.99 }),
        signal: AbortSignal.timeout(10_000),
      });
      const order = (await res.json()) as { id: string; status: string };
      assert.equal(res.status, 201, JSON.stringify(order));
      assert.equal(order.status, 'approved');
      await eventually('payments to record the receipt', async () => {
        const list = await fetch(`${ready.gateway}/api/payments/notifications?orderId=${order.id}`, {
          signal: AbortSignal.timeout(5000),
        });
        return ((await list.json()) as { notifications: unknown[] }).notifications.length === 1;
      });
    }
    await eventually('the exporters to have tried the collector', () => connections > 0, 5000);
  });

  // The services bound their last flush (2 s); `up` itself waits for its exporter's timeout (10 s).
  it('stops cleanly: every process exits with its exporters still hanging', async () => {
    up.child.kill('SIGTERM');
    const exit = await Promise.race([
      up.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`switchyard up did not stop:\n${up.output()}`)), 25_000).unref(),
      ),
    ]);
    assert.deepEqual(exit, { code: 0, signal: null }, up.output());
    for (const instance of ready.instances) assert.equal(alive(instance.pid), false, `${instance.id} left behind`);
  });
});
