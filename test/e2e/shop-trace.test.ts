/**
 * One order placed through the gateway of a running shop is one trace: the gateway's spans,
 * the orders service's server span, the saga and its steps, the calls to inventory and
 * payments with their server spans in those processes, and the bus messages of the
 * choreography, linked parent to child across five processes. The spans travel through the
 * real OTLP/HTTP protobuf exporters into a receiver this test starts, which decodes them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '@switchyard/telemetry/testing';
import { isMap, parseDocument } from 'yaml';
import { alive, eventually, readJsonWhenPresent, root, runCli, type UpProcess } from './helpers.ts';

interface Ready {
  gateway: string;
  instances: Array<{ id: string; service: string; pid: number }>;
}

const sagaName = 'saga shop.order';
const stepSpan = (step: string) => `${sagaName} step ${step}`;

/** The shop's config with every service's `cwd` made absolute and a `telemetry:` section exporting to `endpoint`. */
function tracedShopConfig(dir: string, endpoint: string): string {
  const doc = parseDocument(readFileSync(`${root}examples/shop/switchyard.yaml`, 'utf8'));
  const services = doc.get('services');
  assert.ok(isMap(services), 'examples/shop/switchyard.yaml has a services map');
  for (const item of services.items) doc.setIn(['services', String(item.key), 'cwd'], `${root}examples/shop`);
  doc.set('telemetry', doc.createNode({ serviceName: 'gateway', otlp: { endpoint }, metrics: false }));
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(file, doc.toString());
  return file;
}

/** A trace's spans, with parent lookups and a printable tree for failure messages. */
interface TraceTree {
  readonly spans: readonly ReceivedSpan[];
  /** The one span matching, failing with the trace's tree when there are none or several. */
  one(what: string, predicate: (s: ReceivedSpan) => boolean): ReceivedSpan;
  parentOf(span: ReceivedSpan): ReceivedSpan | undefined;
  isDescendant(span: ReceivedSpan, ancestor: ReceivedSpan): boolean;
  /** `service: name (kind)` lines, indented by depth. */
  describe(): string;
}

function traceTree(spans: readonly ReceivedSpan[]): TraceTree {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const parentOf = (span: ReceivedSpan) => (span.parentSpanId === null ? undefined : byId.get(span.parentSpanId));
  const describe = (): string => {
    const children = new Map<string | null, ReceivedSpan[]>();
    for (const s of spans) {
      const parent = s.parentSpanId !== null && byId.has(s.parentSpanId) ? s.parentSpanId : null;
      children.set(parent, [...(children.get(parent) ?? []), s]);
    }
    const lines: string[] = [];
    const walk = (parent: string | null, depth: number) => {
      const list = [...(children.get(parent) ?? [])].sort((a, b) => Number(a.startTimeUnixNano - b.startTimeUnixNano));
      for (const s of list) {
        lines.push(`${'  '.repeat(depth + 1)}${s.service}: ${s.name} (${s.kind})`);
        walk(s.spanId, depth + 1);
      }
    };
    walk(null, 0);
    return lines.join('\n');
  };
  return {
    spans,
    parentOf,
    describe,
    one(what, predicate) {
      const found = spans.filter(predicate);
      assert.equal(found.length, 1, `expected one ${what}, found ${found.length} in:\n${describe()}`);
      return found[0] as ReceivedSpan;
    },
    isDescendant(span, ancestor) {
      for (let p = parentOf(span); p !== undefined; p = parentOf(p)) if (p.spanId === ancestor.spanId) return true;
      return false;
    },
  };
}

describe('one order through the shop is one trace', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-trace-e2e-'));
  const readyFile = join(dir, 'ready.json');
  // The caller's own span: the gateway continues its trace.
  const traceId = randomBytes(16).toString('hex');
  const callerSpanId = randomBytes(8).toString('hex');
  let receiver: OtlpReceiver;
  let up: UpProcess;
  let ready: Ready;
  let tree: TraceTree;

  before(async () => {
    receiver = await startOtlpReceiver();
    const config = tracedShopConfig(dir, receiver.url.replace(/\/v1\/traces$/, ''));
    up = runCli(['up', '-c', config, '--ready-file', readyFile], {
      SWITCHYARD_GATEWAY_PORT: '0',
      SWITCHYARD_REGISTRY_PORT: '0',
      SHOP_DATA_DIR: join(dir, 'data'),
      // The services export every 100 ms instead of every 5 s.
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
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('places an order, lets the choreography finish, and stops the shop, which flushes every span', async () => {
    const res = await fetch(`${ready.gateway}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpanId}-01` },
      body: JSON.stringify({ customer: 'ada', items: [{ sku: 'SKU-MOUSE', quantity: 1, price: 24.5 }], total: 24.5 }),
      signal: AbortSignal.timeout(15_000),
    });
    const order = (await res.json()) as { id: string; status: string };
    assert.equal(res.status, 201, JSON.stringify(order));
    assert.equal(order.status, 'approved');
    const get = async <T>(path: string): Promise<T> =>
      (await (await fetch(`${ready.gateway}${path}`, { signal: AbortSignal.timeout(5000) })).json()) as T;
    await eventually('inventory to commit the reservation and payments to record the receipt', async () => {
      const { reservations } = await get<{ reservations: { status: string }[] }>(
        `/api/inventory/reservations?orderId=${order.id}`,
      );
      const { notifications } = await get<{ notifications: unknown[] }>(
        `/api/payments/notifications?orderId=${order.id}`,
      );
      return reservations[0]?.status === 'committed' && notifications.length === 1;
    });

    // SIGTERM: every service drains and flushes its spans, then `up` flushes the gateway's.
    up.child.kill('SIGTERM');
    const exit = await Promise.race([
      up.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`switchyard up did not stop:\n${up.output()}`)), 20_000).unref(),
      ),
    ]);
    assert.deepEqual(exit, { code: 0, signal: null }, up.output());
    for (const instance of ready.instances) assert.equal(alive(instance.pid), false, `${instance.id} left behind`);

    // The flush happened before exit; a short deadline covers a receiver still decoding.
    const [sagaSpan] = await receiver.waitForSpans(
      (s) => s.name === sagaName && s.attributes['switchyard.saga.id'] === order.id,
      5000,
    );
    const orderTrace = (sagaSpan as ReceivedSpan).traceId;
    tree = traceTree(receiver.spans.filter((s) => s.traceId === orderTrace));
    const strays = receiver.spans.filter(
      (s) =>
        s.traceId !== orderTrace &&
        (s.attributes['switchyard.saga.id'] === order.id || s.name.endsWith(' order.approved')),
    );
    assert.deepEqual(
      strays.map((s) => `${s.service}: ${s.name}`),
      [],
      "no span of the order's saga or its message is outside the saga's trace",
    );
  });

  const server = (service: string, name: string) => (s: ReceivedSpan) =>
    s.service === service && s.kind === 'server' && s.name === name;
  const saga = () => tree.one('saga span', (s) => s.service === 'orders' && s.name === sagaName);
  const step = (name: string) => tree.one(`${name} step span`, (s) => s.name === stepSpan(name));
  const gatewayServer = () => tree.one('gateway server span', (s) => s.service === 'gateway' && s.kind === 'server');
  const ordersServer = () => tree.one('orders server span', server('orders', 'POST /'));

  it("the gateway server span continues the caller's traceparent, and its client span (the attempt) is its child", () => {
    const gateway = gatewayServer();
    assert.equal(gateway.traceId, traceId, 'the trace is the one the caller began');
    assert.match(gateway.name, /^POST /);
    assert.equal(gateway.parentSpanId, callerSpanId);
    const attempt = tree.one('gateway client span', (s) => s.service === 'gateway' && s.kind === 'client');
    assert.equal(attempt.parentSpanId, gateway.spanId);
  });

  it('the trace has one root, the gateway server span: every other span has its parent in the trace', () => {
    const roots = tree.spans.filter((s) => tree.parentOf(s) === undefined);
    assert.deepEqual(roots, [gatewayServer()], tree.describe());
  });

  it('the orders server span is a child of the gateway (its attempt span)', () => {
    const orders = ordersServer();
    const gateway = gatewayServer();
    assert.ok(tree.isDescendant(orders, gateway), tree.describe());
    assert.equal(tree.parentOf(orders)?.service, 'gateway', tree.describe());
    assert.equal(tree.parentOf(orders)?.kind, 'client', tree.describe());
  });

  it('the saga span is a child of the orders server span, and its four steps children of the saga', () => {
    const sagaSpan = saga();
    assert.equal(sagaSpan.parentSpanId, ordersServer().spanId, tree.describe());
    assert.equal(sagaSpan.attributes['switchyard.saga.name'], 'shop.order');
    for (const name of ['createOrder', 'reserve', 'charge', 'approve']) {
      const span = step(name);
      assert.equal(span.parentSpanId, sagaSpan.spanId, `${name}:\n${tree.describe()}`);
      assert.equal(span.attributes['switchyard.saga.step'], name);
    }
  });

  for (const [stepName, service, route] of [
    ['reserve', 'inventory', 'POST /reservations'],
    ['charge', 'payments', 'POST /payments'],
  ] as const) {
    it(`the ${stepName} step's call reaches ${service}: its server span descends from the step`, () => {
      const callee = tree.one(`${service} server span`, server(service, route));
      assert.ok(tree.isDescendant(callee, step(stepName)), tree.describe());
      assert.equal(callee.attributes['http.route'], route.split(' ')[1]);
    });

    it(`the ${stepName} step's call to ${service} is a client span, child of the step and parent of the server span`, () => {
      const callee = tree.one(`${service} server span`, server(service, route));
      const attempt = tree.parentOf(callee);
      assert.equal(attempt?.kind, 'client', tree.describe());
      assert.equal(attempt?.service, 'orders');
      assert.equal(attempt?.parentSpanId, step(stepName).spanId, tree.describe());
    });
  }

  it('order.approved is sent under the approve step and processed by the inventory and notifications groups', () => {
    const send = tree.one('send span', (s) => s.name === 'send order.approved');
    assert.equal(send.kind, 'producer');
    assert.equal(send.service, 'orders');
    assert.equal(send.parentSpanId, step('approve').spanId, tree.describe());
    const processed = tree.spans.filter((s) => s.name === 'process order.approved');
    assert.deepEqual(
      processed.map((s) => `${s.service}/${String(s.attributes['messaging.consumer.group.name'])}`).sort(),
      ['inventory/inventory', 'payments/notifications'],
      tree.describe(),
    );
    for (const span of processed) {
      assert.equal(span.kind, 'consumer');
      assert.equal(span.parentSpanId, send.spanId, tree.describe());
    }
  });
});
