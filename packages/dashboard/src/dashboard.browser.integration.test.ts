import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { type FakeAdminServer, fakeIds, startFakeAdminServer } from './testing/index.ts';

const artifactsDir = process.env.SWITCHYARD_ARTIFACTS_DIR ?? tmpdir();
mkdirSync(artifactsDir, { recursive: true });

/** Bounded waits: the page should react within this. */
const waitMs = 8000;

let browser: Browser;

before(async () => {
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
});

after(async () => {
  await browser?.close();
});

/** Opens the dashboard of `fake` at `hash`, failing the test on any script error in the page. */
async function open(
  fake: FakeAdminServer,
  hash: string,
  options: BrowserContextOptions = {},
): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(waitMs);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${fake.url}/${hash}`);
  return { page, errors, close: () => context.close() };
}

async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(artifactsDir, `dashboard-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

describe('dashboard in a browser, against the fake admin API', () => {
  let fake: FakeAdminServer;
  before(async () => {
    fake = await startFakeAdminServer();
  });
  after(async () => {
    await fake?.close();
  });

  it('renders the services table with every instance, its health, ejection and restarts', async () => {
    const { page, errors, close } = await open(fake, '#/');
    try {
      const table = page.locator('#section-services table');
      await table.waitFor();
      const headers = await table.locator('thead th').allTextContents();
      assert.deepEqual(headers, ['Service', 'Instance', 'Address', 'Health', 'Process', 'Ejected', 'Restarts']);
      const rows = table.locator('tbody tr');
      assert.equal(await rows.count(), 4);
      const ejected = rows.filter({ hasText: 'inventory-2' });
      assert.match((await ejected.textContent()) ?? '', /warning.*ejected/);
      const payments = rows.filter({ hasText: 'payments-1' });
      assert.match((await payments.textContent()) ?? '', /critical.*restarting.*3$/);
      await page.locator('#live[data-status="live"]').waitFor();
      assert.equal(await page.locator('#section-red svg[role="img"]').count(), 6);
      const label = await page.locator('#section-red svg[role="img"]').first().getAttribute('aria-label');
      assert.match(label ?? '', /^Requests for POST \/api\/orders: latest /);
      await screenshot(page, 'overview');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('filters the saga list by status and by name', async () => {
    const { page, errors, close } = await open(fake, '#/sagas');
    try {
      const rows = page.locator('main tbody tr');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 4);
      await page.getByLabel('Status').selectOption('parked');
      await page.waitForFunction(() => location.hash === '#/sagas?status=parked');
      await page.locator('main tbody tr[data-saga-status="parked"]').waitFor();
      assert.equal(await rows.count(), 1);
      assert.match((await rows.first().textContent()) ?? '', /saga-parked-0002.*SY_GATEWAY_NO_HEALTHY_INSTANCE/);
      await page.getByLabel('Status').selectOption('');
      await page.getByLabel('Name').fill('refund');
      await page.getByLabel('Name').press('Enter');
      await page.waitForFunction(() => location.hash === '#/sagas?name=refund');
      await page.locator('main tbody tr[data-saga-status="running"]').waitFor();
      assert.equal(await rows.count(), 1);
      assert.ok(fake.requests.some((r) => r.startsWith('GET /admin/sagas?') && r.includes('name=refund')));
      await page.getByLabel('Name').fill('no-such-saga');
      await page.getByLabel('Name').press('Enter');
      await page.getByText('No sagas match these filters.').waitFor();
      await screenshot(page, 'sagas-filtered');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it("shows a saga's steps and its compensations in the timeline", async () => {
    const { page, errors, close } = await open(fake, `#/sagas/${fakeIds.compensatedSaga}`);
    try {
      const timeline = page.getByRole('list', { name: 'Saga history' });
      await timeline.waitFor();
      const compensations = timeline.locator('li.compensation');
      assert.equal(await compensations.count(), 6);
      assert.deepEqual(
        await timeline.locator('li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-kind'))),
        [
          'saga.started',
          'step.started',
          'step.done',
          'step.started',
          'step.done',
          'step.started',
          'step.failed',
          'saga.compensating',
          'compensation.started',
          'compensation.done',
          'compensation.started',
          'compensation.done',
          'saga.compensated',
        ],
      );
      const steps = page.locator('table', { has: page.locator('caption', { hasText: 'Steps and compensations' }) });
      assert.match(
        (await steps.locator('tbody tr').nth(1).textContent()) ?? '',
        /reserve-stock.*done.*compensation done/,
      );
      assert.match((await steps.locator('tbody tr').nth(2).textContent()) ?? '', /charge-payment.*failed.*not needed/);
      assert.equal(await page.getByRole('button', { name: 'Retry…' }).count(), 0, 'no actions for a finished saga');
      await page.getByRole('link', { name: /^4bf92f35/ }).click();
      await page.waitForFunction((id) => location.hash === `#/traces/${id}`, fakeIds.orderTrace);
      await screenshot(page, 'saga-link-to-trace');
      await page.goBack();
      await timeline.waitFor();
      await screenshot(page, 'saga-compensated');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('retries a parked saga with a reason, and shows the API refusal when it is no longer parked', async () => {
    const local = await startFakeAdminServer();
    const { page, errors, close } = await open(local, `#/sagas/${fakeIds.parkedSaga}`);
    try {
      await page.getByRole('button', { name: 'Abort…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Abort this saga' });
      await dialog.getByRole('button', { name: 'Abort' }).click();
      await dialog.getByText('A reason is required to abort a saga.').waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();

      await page.getByRole('button', { name: 'Retry…' }).click();
      const retry = page.getByRole('dialog', { name: 'Retry this saga' });
      await retry.getByLabel('Reason').fill('payments is back (ops-42)');
      await retry.getByRole('button', { name: 'Retry' }).click();
      await page.locator('li[data-kind="saga.retried"]', { hasText: 'Reason: payments is back (ops-42)' }).waitFor();
      await page.locator('.facts .badge', { hasText: 'running' }).waitFor();
      assert.ok(local.requests.includes(`POST /admin/sagas/${fakeIds.parkedSaga}/retry`));

      // Parked again on the page, but another operator finished it meanwhile: the API refuses.
      const saga = local.state.sagas.find((s) => s.id === fakeIds.parkedSaga);
      assert.ok(saga);
      saga.status = 'parked';
      local.emit('saga', saga);
      await page.getByRole('button', { name: 'Retry…' }).waitFor();
      saga.status = 'completed';
      await page.getByRole('button', { name: 'Retry…' }).click();
      await retry.getByRole('button', { name: 'Retry' }).click();
      await retry
        .getByRole('alert')
        .filter({ hasText: `SY_SAGA_NOT_PARKED: saga ${fakeIds.parkedSaga} is completed, not parked` })
        .waitFor();
      await screenshot(page, 'saga-retry-refused');
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await local.close();
    }
  });

  it('draws a trace as a waterfall across services, marks the error span and shows span details', async () => {
    const { page, errors, close } = await open(fake, `#/traces/${fakeIds.orderTrace}`);
    try {
      const rows = page.locator('.wf-button');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 5);
      const services = new Set(await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-service'))));
      assert.deepEqual([...services].sort(), ['gateway', 'orders', 'payments']);
      // Bars sit on one time axis: the payments call starts about 130/310 of the way in.
      const bar = page.locator('.wf-row.error .wf-bar');
      const left = await bar.evaluate((el) => Number.parseFloat((el as HTMLElement).style.left));
      assert.ok(Math.abs(left - (130 / 310) * 100) < 0.5, `payments bar at ${left}%`);
      assert.equal(await page.locator('.wf-row.error').count(), 1);
      // Indentation follows the tree: the payments span is three levels below the root.
      const depth = await page
        .locator('.wf-row.error .wf-label')
        .evaluate((el) => (el as HTMLElement).style.getPropertyValue('--depth'));
      assert.equal(depth, '3');

      // Keyboard: arrows move between spans, Enter selects.
      await rows.first().focus();
      for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      const details = page.getByRole('complementary', { name: 'Selected span' });
      await details.getByRole('heading', { name: 'POST /charges' }).waitFor();
      assert.match((await details.textContent()) ?? '', /error payment declined/);
      assert.match((await details.textContent()) ?? '', /exception\.message = amount 1200 exceeds the limit of 1000/);

      // API strings are text, never markup.
      await rows.nth(2).click();
      await details.getByText('<b>not markup</b>').waitFor();
      assert.equal(await details.locator('b').count(), 0);
      await screenshot(page, 'trace-waterfall');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('lists recent traces and filters them by service', async () => {
    const { page, errors, close } = await open(fake, '#/traces');
    try {
      const rows = page.locator('main tbody tr');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 2);
      await page.getByLabel('Service').selectOption('payments');
      await page.waitForFunction(() => location.hash === '#/traces?service=payments');
      await page.waitForFunction(() => document.querySelectorAll('main tbody tr').length === 1);
      assert.match((await rows.first().textContent()) ?? '', /POST \/api\/orders/);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('turns a breaker open on screen when the event stream says so', async () => {
    const local = await startFakeAdminServer();
    const { page, errors, close } = await open(local, '#/breakers');
    try {
      await page.locator('#live[data-status="live"]').waitFor();
      const row = page.locator('tr[data-breaker="payments"]');
      assert.equal(await row.getAttribute('data-state'), 'closed');
      local.setBreaker('payments', 'open', 0.8);
      await page.locator('tr[data-breaker="payments"][data-state="open"]').waitFor();
      assert.match((await row.textContent()) ?? '', /payments.*open.*80%/);
      await screenshot(page, 'breaker-open');
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await local.close();
    }
  });

  it('shows "reconnecting" when the event stream drops, polls meanwhile, and goes live again', async () => {
    const local = await startFakeAdminServer();
    const { page, errors, close } = await open(local, '#/breakers');
    try {
      await page.locator('#live[data-status="live"]').waitFor();
      local.setEventsAvailable(false);
      await page.locator('#live[data-status="reconnecting"]').waitFor();
      assert.equal(await page.locator('#live').textContent(), 'Reconnecting…');
      await page.locator('#live[data-status="polling"]').waitFor();
      // While polling, a change reaches the page through the GETs.
      const breaker = local.state.breakers.breakers.find((b) => b.name === 'orders');
      assert.ok(breaker);
      breaker.state = 'half-open';
      await page.locator('tr[data-breaker="orders"][data-state="half-open"]').waitFor({ timeout: 12_000 });
      local.setEventsAvailable(true);
      await page.locator('#live[data-status="live"]').waitFor({ timeout: 12_000 });
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await local.close();
    }
  });

  it('reaches the sagas view from the keyboard: Tab to the link, and the g s shortcut', async () => {
    const { page, errors, close } = await open(fake, '#/');
    try {
      await page.locator('#section-services table').waitFor();
      let reached = false;
      for (let i = 0; i < 15 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await page.evaluate(() => document.activeElement?.textContent === 'Sagas');
      }
      assert.ok(reached, 'Tab reaches the Sagas link');
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
      assert.equal(outline, 'solid', 'the focused link shows a focus ring');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Sagas' }).waitFor();
      assert.equal(await page.locator('nav a[aria-current="page"]').textContent(), 'Sagas');

      await page.keyboard.press('g');
      await page.keyboard.press('t');
      await page.getByRole('heading', { level: 1, name: 'Traces' }).waitFor();
      await page.locator('main').click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('g');
      await page.keyboard.press('s');
      await page.getByRole('heading', { level: 1, name: 'Sagas' }).waitFor();
      assert.equal(await page.evaluate(() => location.hash), '#/sagas');
      await page.keyboard.press('/');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'saga-status');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('fits a narrow screen without sideways scrolling and follows a dark colour scheme', async () => {
    const { page, errors, close } = await open(fake, '#/', {
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
    });
    try {
      await page.locator('#section-services table').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(background, 'rgb(20, 23, 28)');
      await screenshot(page, 'narrow-dark');
      await page.goto(`${fake.url}/#/traces/${fakeIds.orderTrace}`);
      await page.locator('.wf-button').first().waitFor();
      const traceOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(traceOverflow <= 0, `trace page is ${traceOverflow}px wider than the screen`);
      await screenshot(page, 'narrow-trace');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  it('says so when sagas are not configured', async () => {
    const local = await startFakeAdminServer();
    local.state.sagasConfigured = false;
    const { page, close } = await open(local, '#/sagas');
    try {
      await page.getByText('Sagas are not configured for this system').waitFor();
    } finally {
      await close();
      await local.close();
    }
  });
});

describe('dashboard with a token-protected admin API', () => {
  it('asks for a token on 401, keeps it in sessionStorage and sends it as a bearer token', async () => {
    const fake = await startFakeAdminServer({ token: 's3cret' });
    const { page, errors, close } = await open(fake, '#/');
    try {
      const field = page.getByLabel('Token', { exact: true });
      await field.waitFor();
      assert.ok(await field.isVisible());
      assert.equal(await page.locator('#live').getAttribute('data-status'), 'unauthorized');
      assert.ok(await page.locator('main').isHidden(), 'no endless "Loading…" behind the token form');
      await screenshot(page, 'token');
      await field.fill('wrong');
      await page.getByRole('button', { name: 'Use token' }).click();
      await page.getByText('The admin API refused the saved token').waitFor();
      await field.fill('s3cret');
      await page.getByRole('button', { name: 'Use token' }).click();
      await page.locator('#section-services tbody tr').first().waitFor();
      await page.locator('#live[data-status="live"]').waitFor();
      assert.ok(await field.isHidden());
      assert.equal(await page.evaluate(() => sessionStorage.getItem('switchyard.adminToken')), 's3cret');
      // A reload keeps the token: no prompt, data at once.
      await page.reload();
      await page.locator('#section-services tbody tr').first().waitFor();
      assert.ok(await field.isHidden());
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await fake.close();
    }
  });
});
