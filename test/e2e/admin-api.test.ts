/**
 * The system admin API of a real `switchyard up` shop: services with their supervisor state,
 * an order's saga through `switchyard saga ls/show/retry/abort` (exit codes included), and the
 * order's trace spanning the gateway and the orders service, kept by `up` itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, readJsonWhenPresent, root, runCli, type UpProcess } from './helpers.ts';

interface Ready {
  gateway: string;
  admin: string;
}

const shopConfig = `${root}examples/shop/switchyard.yaml`;

/** Runs `switchyard <args>` to its end; resolves with its exit code and output. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const run = runCli(args, env);
  const { code } = await run.exited;
  return { code, out: run.output() };
}

describe('the system admin API of switchyard up', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-admin-e2e-'));
  const readyFile = join(dir, 'ready.json');
  let up: UpProcess;
  let ready: Ready;
  let orderId = '';

  before(async () => {
    up = runCli(['up', '-c', shopConfig, '--ready-file', readyFile], {
      SWITCHYARD_GATEWAY_PORT: '0',
      SWITCHYARD_REGISTRY_PORT: '0',
      SWITCHYARD_ADMIN_PORT: '0',
      SHOP_DATA_DIR: join(dir, 'data'),
      // The services export their spans to the admin API soon after they end.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    ready = await eventually(
      'the shop to report ready',
      () => {
        if (up.child.exitCode !== null) throw new Error(`switchyard up exited early:\n${up.output()}`);
        return readJsonWhenPresent<Ready>(readyFile);
      },
      60_000,
    );
  });

  after(async () => {
    if (up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      const exit = await up.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, up.output());
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const admin = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${ready.admin}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json()) as T };
  };

  it('prints the admin and dashboard URLs and writes the admin URL to the ready file', async () => {
    assert.match(ready.admin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(!ready.admin.endsWith(':9000'));
    const out = up.output();
    assert.ok(out.includes(ready.admin), out);
    assert.match(out, /dashboard http:\/\/127\.0\.0\.1:\d+\//);
    const { body } = await admin<{ name: string; gateway: string; features: Record<string, boolean> }>('/admin/system');
    assert.equal(body.name, 'shop');
    assert.equal(body.gateway, ready.gateway);
    assert.deepEqual(body.features, { sagas: true, traces: true });
  });

  it('lists every instance with its health and the supervisor state', async () => {
    const { body } =
      await admin<Array<{ service: string; instances: Array<Record<string, unknown>> }>>('/admin/services');
    assert.deepEqual(
      body.map((s) => `${s.service}:${s.instances.length}`),
      ['inventory:2', 'orders:1', 'payments:1'],
    );
    const orders = body.find((s) => s.service === 'orders')?.instances[0];
    assert.equal(orders?.id, 'orders-1');
    assert.equal(orders?.health, 'passing');
    assert.equal(orders?.ejected, false);
    assert.equal(typeof orders?.pid, 'number');
  });

  it('places an order, then `switchyard saga ls --json` and `saga show` find its saga', async () => {
    const res = await fetch(`${ready.gateway}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: 'ada', items: [{ sku: 'SKU-MOUSE', quantity: 1, price: 24.5 }], total: 24.5 }),
      signal: AbortSignal.timeout(15_000),
    });
    const order = (await res.json()) as { id: string; status: string };
    assert.equal(res.status, 201, JSON.stringify(order));
    assert.equal(order.status, 'approved');
    orderId = order.id;

    const ls = await cli(['saga', 'ls', '--json', '--admin', ready.admin]);
    assert.equal(ls.code, 0, ls.out);
    const listed = JSON.parse(ls.out) as { sagas: Array<{ id: string; status: string; name: string }> };
    const saga = listed.sagas.find((s) => s.id === orderId);
    assert.equal(saga?.status, 'completed');

    // The admin URL from the config file (its port from the environment, as `up` got it).
    const port = new URL(ready.admin).port;
    const fromConfig = await cli(['saga', 'ls', '--status', 'completed', '-c', shopConfig], {
      SWITCHYARD_ADMIN_PORT: port,
    });
    assert.equal(fromConfig.code, 0, fromConfig.out);
    assert.ok(fromConfig.out.includes(orderId), fromConfig.out);

    const show = await cli(['saga', 'show', orderId, '--admin', ready.admin]);
    assert.equal(show.code, 0, show.out);
    assert.match(show.out, new RegExp(`^saga ${orderId} {2}\\S+ {2}COMPLETED$`, 'm'));
    for (const step of ['createOrder', 'reserve', 'charge', 'approve'])
      assert.match(show.out, new RegExp(`step done\\s+${step}`), show.out);
  });

  it('retry/abort exit 4 on a saga that is not parked and 3 on an unknown id', async () => {
    assert.ok(orderId, 'the order test ran first');
    const retry = await cli(['saga', 'retry', orderId, '--admin', ready.admin]);
    assert.equal(retry.code, 4, retry.out);
    assert.match(retry.out, /SY_SAGA_NOT_PARKED/);
    const abort = await cli(['saga', 'abort', orderId, '--reason', 'test', '--admin', ready.admin]);
    assert.equal(abort.code, 4, abort.out);
    const unknown = await cli(['saga', 'show', 'no-such-saga', '--admin', ready.admin]);
    assert.equal(unknown.code, 3, unknown.out);
    const unknownRetry = await cli(['saga', 'retry', 'no-such-saga', '--admin', ready.admin]);
    assert.equal(unknownRetry.code, 3, unknownRetry.out);
    const noReason = await cli(['saga', 'abort', orderId, '--admin', ready.admin]);
    assert.equal(noReason.code, 2, noReason.out);
  });

  it('keeps the order trace, spanning the gateway and the orders service', async () => {
    assert.ok(orderId, 'the order test ran first');
    const trace = await eventually(
      'a trace with gateway and orders spans',
      async () => {
        const { body } = await admin<Array<{ traceId: string; services: string[]; name: string }>>(
          '/admin/traces?service=orders&limit=20',
        );
        return body.find((t) => t.services.includes('switchyard') && t.name.startsWith('POST'));
      },
      20_000,
    );
    const { body: spans } = await admin<Array<{ service: string; kind: string; parentSpanId: string | null }>>(
      `/admin/traces/${trace.traceId}`,
    );
    const gatewayRoot = spans.find((s) => s.service === 'switchyard' && s.parentSpanId === null);
    assert.equal(gatewayRoot?.kind, 'server');
    assert.ok(spans.some((s) => s.service === 'orders' && s.kind === 'server'));
  });

  it('refuses saga commands with exit 1 and a hint when nothing listens', async () => {
    const down = await cli(['saga', 'ls', '--admin', 'http://127.0.0.1:9']);
    assert.equal(down.code, 1, down.out);
    assert.match(down.out, /SY_CLI_ADMIN_UNREACHABLE.*\n.*switchyard up -c/);
  });
});
