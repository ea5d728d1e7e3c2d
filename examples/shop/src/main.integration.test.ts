import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const shopDir = fileURLToPath(new URL('../', import.meta.url));

/** Runs `node src/<service>/main.ts` as `switchyard up` does: from examples/shop, configured by env. */
function runMain(service: string, env: Record<string, string>): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, ['--conditions=@switchyard/source', `src/${service}/main.ts`], {
    cwd: shopDir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout?.resume();
  return { child, stderr: () => stderr };
}

async function exitOf(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit', { signal: AbortSignal.timeout(ms) })) as [number | null];
  return code;
}

/** The URL of the "service started" log line, or a rejection with the output after 10 s or on exit. */
function startedUrl(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "service started" line within 10 s:\n${stderr()}`)), 10_000);
    const onData = () => {
      const started = stderr().match(/"url":"(http:\/\/[^"]+)".*"msg":"service started"/);
      if (started?.[1] === undefined) return;
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      resolve(started[1]);
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${stderr()}`));
    });
  });
}

describe('service entry points', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'shop-main-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('payments exits 1 with a message naming PAYMENTS_LIMIT when it is invalid', async () => {
    const { child, stderr } = runMain('payments', { PAYMENTS_LIMIT: 'lots', PORT: '0', SWITCHYARD_DATA_DIR: dataDir });
    children.push(child);
    assert.equal(await exitOf(child, 10_000), 1);
    assert.match(stderr(), /payments: failed to start: .*\n\s+PAYMENTS_LIMIT: expected a number > 0, got "lots"/);
  });

  it('orders exits 1 with a message naming SWITCHYARD_REGISTRY_URL when it cannot reach the other services', async () => {
    const { child, stderr } = runMain('orders', { PORT: '0', SWITCHYARD_DATA_DIR: dataDir });
    children.push(child);
    assert.equal(await exitOf(child, 10_000), 1);
    assert.match(
      stderr(),
      /orders: failed to start: .*\n\s+SWITCHYARD_REGISTRY_URL: orders calls inventory and payments/,
    );
  });

  it('inventory serves on PORT=0 with its instance id and stops cleanly on SIGTERM', async () => {
    const { child, stderr } = runMain('inventory', {
      PORT: '0',
      SWITCHYARD_INSTANCE_ID: 'inventory-main-test',
      SWITCHYARD_DATA_DIR: dataDir,
    });
    children.push(child);
    const url = await startedUrl(child, stderr);
    const res = await fetch(`${url}/items/SKU-KEYBOARD`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-instance-id'), 'inventory-main-test');
    assert.equal(((await res.json()) as { sku: string }).sku, 'SKU-KEYBOARD');
    child.kill('SIGTERM');
    assert.equal(await exitOf(child, 10_000), 0);
    assert.ok(existsSync(join(dataDir, 'inventory.sqlite')));
  });

  it('with SHOP_TELEMETRY=on, payments serves /metrics labelled by route template, not by path', async () => {
    const { child, stderr } = runMain('payments', {
      PORT: '0',
      SHOP_TELEMETRY: 'on',
      SWITCHYARD_INSTANCE_ID: 'payments-main-test',
      SWITCHYARD_DATA_DIR: dataDir,
    });
    children.push(child);
    const url = await startedUrl(child, stderr);
    for (const id of ['pay_1', 'pay_2']) {
      const res = await fetch(`${url}/payments/${id}`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 404);
    }
    const metrics = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    assert.match(
      metrics,
      /switchyard_http_server_requests_total\{route="\/payments\/:id",method="GET",status_class="4xx"\} 2/,
    );
    assert.doesNotMatch(metrics, /pay_1/);
    child.kill('SIGTERM');
    assert.equal(await exitOf(child, 10_000), 0);
  });

  it('exits 1 naming SHOP_TELEMETRY when it is neither on nor off', async () => {
    const { child, stderr } = runMain('inventory', { PORT: '0', SHOP_TELEMETRY: 'yes', SWITCHYARD_DATA_DIR: dataDir });
    children.push(child);
    assert.equal(await exitOf(child, 10_000), 1);
    assert.match(stderr(), /inventory: failed to start: .*\n\s+SHOP_TELEMETRY: expected "on" or "off", got "yes"/);
  });
});
