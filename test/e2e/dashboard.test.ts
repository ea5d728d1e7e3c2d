/**
 * The dashboard against a real `switchyard up` shop: the page served on the admin port shows
 * the services, an order placed through the gateway appears as a saga that completes, its
 * trace opens as a waterfall across services, and killing the payments instance trips the
 * payments breaker on screen.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { alive, eventually, readJsonWhenPresent, root, runCli, type UpProcess } from './helpers.ts';

interface Ready {
  gateway: string;
  admin: string;
  instances: Array<{ id: string; service: string; pid: number }>;
}

interface ServicesView {
  service: string;
  instances: Array<{ id: string; pid?: number }>;
}

const artifactsDir = process.env.SWITCHYARD_ARTIFACTS_DIR ?? tmpdir();

describe('the dashboard of switchyard up', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-dashboard-e2e-'));
  const readyFile = join(dir, 'ready.json');
  let up: UpProcess;
  let ready: Ready;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  const screenshot = async (name: string) => {
    mkdirSync(artifactsDir, { recursive: true });
    const path = join(artifactsDir, `dashboard-e2e-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  };

  before(async () => {
    up = runCli(['up', '-c', `${root}examples/shop/switchyard.yaml`, '--ready-file', readyFile], {
      SWITCHYARD_GATEWAY_PORT: '0',
      SWITCHYARD_REGISTRY_PORT: '0',
      SWITCHYARD_ADMIN_PORT: '0',
      SHOP_DATA_DIR: join(dir, 'data'),
    });
    ready = await eventually(
      'the shop to report ready',
      () => {
        if (up.child.exitCode !== null) throw new Error(`switchyard up exited early:\n${up.output()}`);
        return readJsonWhenPresent<Ready>(readyFile);
      },
      45_000,
    );
    assert.match(ready.admin, /^http:\/\/127\.0\.0\.1:\d+$/);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  after(async () => {
    await browser?.close();
    if (up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      await up.exited;
    }
    const services = await fetch(`${ready.admin}/admin/services`).catch(() => undefined);
    assert.equal(services, undefined, 'the admin API stops with up');
    for (const instance of ready.instances) assert.equal(alive(instance.pid), false, `${instance.id} was left running`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the dashboard on the admin port, live, with every instance', async () => {
    await page.goto(`${ready.admin}/`);
    await page.locator('#live[data-status="live"]').waitFor();
    const rows = page.locator('#section-services tbody tr');
    await eventually('four instance rows', async () => (await rows.count()) === 4);
    for (const id of ['orders-1', 'inventory-1', 'inventory-2', 'payments-1']) {
      assert.match((await rows.filter({ hasText: id }).textContent()) ?? '', /passing.*running/);
    }
    // The system name comes from /admin/system, which may answer after the event stream.
    await eventually('the system name', async () => (await page.locator('#system-name').textContent()) === 'shop');
    await screenshot('overview');
  });

  it('shows an order placed through the gateway as a saga that completes, and opens its trace', async () => {
    await page.goto(`${ready.admin}/#/sagas`);
    await page.getByRole('heading', { level: 1, name: 'Sagas' }).waitFor();
    const placed = await fetch(`${ready.gateway}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: 'ada', items: [{ sku: 'SKU-MOUSE', quantity: 2, price: 24.5 }], total: 49 }),
      signal: AbortSignal.timeout(15_000),
    });
    assert.equal(placed.status, 201, await placed.clone().text());
    const order = (await placed.json()) as { id: string; saga: { id: string } };
    // The list updates from the event stream: no reload.
    const row = page.locator('main tbody tr', { hasText: order.saga.id.slice(0, 20) });
    await page
      .locator('main tbody tr[data-saga-status="completed"]', { hasText: order.saga.id.slice(0, 20) })
      .waitFor();
    assert.match((await row.textContent()) ?? '', /completed/);

    await row.getByRole('link').click();
    const timeline = page.getByRole('list', { name: 'Saga history' });
    await timeline.locator('li[data-kind="saga.completed"]').waitFor();
    assert.ok((await timeline.locator('li[data-kind="step.done"]').count()) >= 3);
    await screenshot('saga');

    await page.getByRole('link', { name: /^[0-9a-f]{16}/ }).click();
    const spans = page.locator('.wf-button');
    await eventually('spans of at least three services', async () => {
      const services = new Set(await spans.evaluateAll((els) => els.map((el) => el.getAttribute('data-service'))));
      return services.has('orders') && services.has('payments') && services.has('inventory');
    });
    await screenshot('trace');
  });

  it('shows the payments breaker open after its instance is killed', async () => {
    await page.goto(`${ready.admin}/#/breakers`);
    await page.locator('#live[data-status="live"]').waitFor();
    const open = page.locator('tr[data-breaker="payments"][data-state="open"]');
    await eventually(
      'the payments breaker to open on the page',
      async () => {
        // The supervisor restarts a killed instance; kill it again whenever it is back.
        const services = (await (await fetch(`${ready.admin}/admin/services`)).json()) as ServicesView[];
        for (const instance of services.find((s) => s.service === 'payments')?.instances ?? []) {
          if (instance.pid !== undefined && alive(instance.pid)) process.kill(instance.pid, 'SIGKILL');
        }
        await Promise.all(
          Array.from({ length: 10 }, () =>
            fetch(`${ready.gateway}/api/payments/payments?orderId=none`, { signal: AbortSignal.timeout(5000) })
              .then((res) => res.arrayBuffer())
              .catch(() => undefined),
          ),
        );
        return (await open.count()) === 1;
      },
      40_000,
    );
    assert.match((await open.textContent()) ?? '', /payments.*open/);
    await screenshot('breaker-open');
    assert.deepEqual(pageErrors, []);
  });
});
