import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import { isSwitchyardError, type ServiceInstance } from '@switchyard/core';
import { type FakeApiServer, fixture, fixtureLines, startFakeApiServer } from './internal/fake-api-server.ts';
import { createKubernetesDiscovery, type KubernetesDiscovery } from './kubernetes-discovery.ts';
import type { KubernetesDiscoveryOptions } from './options.ts';

// No cluster here: a loopback server replays API responses in the API server's wire format
// (src/fixtures/): an EndpointSliceList, watch streams of NDJSON events, Status bodies.

/** Collects what a source tells one watcher. */
class Recorder {
  readonly lists: (readonly ServiceInstance[])[] = [];
  readonly errors: unknown[] = [];
  readonly resyncs: string[] = [];
  /** The calls in order: `next`, `error:<code>`, `resynced`. */
  readonly log: string[] = [];
  next(instances: readonly ServiceInstance[]): void {
    this.lists.push(instances);
    this.log.push('next');
  }
  error(err: unknown): void {
    this.errors.push(err);
    this.log.push(`error:${(err as { code?: string }).code}`);
  }
  resynced(reason: string): void {
    this.resyncs.push(reason);
    this.log.push('resynced');
  }
  get last(): string[] {
    return (this.lists.at(-1) ?? []).map((i) => `${i.id}@${i.address}:${i.port}`);
  }
}

/** Waits until `check` holds, or fails after 5 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let api: FakeApiServer;
let source: KubernetesDiscovery | undefined;

beforeEach(async () => {
  api = await startFakeApiServer();
});
afterEach(async () => {
  await source?.close();
  source = undefined;
  await api.close();
});

function start(options: KubernetesDiscoveryOptions = {}): KubernetesDiscovery {
  source = createKubernetesDiscovery({ kubeConfig: api.kubeConfig, minRetryDelay: 5, maxRetryDelay: 20, ...options });
  return source;
}

const watches = () => api.requests.filter((u) => u.searchParams.get('watch') === '1');
const lists = () => api.requests.filter((u) => u.searchParams.get('watch') !== '1');

it('lists the Service: ready IPv4 endpoints only, first port by default, ordered by pod name', async () => {
  api.onList({ status: 200, body: fixture('list-orders.json') });
  const watcher = new Recorder();
  start().watch('orders', watcher);
  await until(() => watcher.lists.length === 1 && watches().length === 1, 'the first list and the watch');

  assert.deepEqual(watcher.last, [
    'orders-6f9c7b5d8-4kq2m@10.244.1.17:9090',
    'orders-6f9c7b5d8-9xw7t@10.244.2.23:9090',
  ]);
  const first = watcher.lists[0]?.[0];
  assert.deepEqual(first, {
    id: 'orders-6f9c7b5d8-4kq2m',
    service: 'orders',
    address: '10.244.1.17',
    port: 9090,
    tags: [],
    meta: { zone: 'eu-west-1a', nodeName: 'node-a' },
    status: 'passing',
    weight: 1,
  });
  const [list] = lists();
  assert.equal(list?.pathname, '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices');
  assert.equal(list?.searchParams.get('labelSelector'), 'kubernetes.io/service-name=orders');
  const [watch] = watches();
  assert.equal(watch?.searchParams.get('resourceVersion'), '1000');
  assert.equal(watch?.searchParams.get('allowWatchBookmarks'), 'true');
  assert.deepEqual(watcher.errors, []);
});

it('chooses the port by name or number, and reads IPv6 slices when asked', async () => {
  api.onList({ status: 200, body: fixture('list-orders.json') });
  api.onList({ status: 200, body: fixture('list-orders.json') });
  api.onList({ status: 200, body: fixture('list-orders.json') });
  const byName = new Recorder();
  const byNumber = new Recorder();
  const v6 = new Recorder();
  start({ port: 'http' }).watch('orders', byName);
  await until(() => byName.lists.length === 1, 'the list by port name');
  await source?.close();
  start({ port: 9090 }).watch('orders', byNumber);
  await until(() => byNumber.lists.length === 1, 'the list by port number');
  await source?.close();
  start({ addressType: 'IPv6', port: 'http' }).watch('orders', v6);
  await until(() => v6.lists.length === 1, 'the IPv6 list');

  assert.deepEqual(byName.last, ['orders-6f9c7b5d8-4kq2m@10.244.1.17:8080', 'orders-6f9c7b5d8-9xw7t@10.244.2.23:8080']);
  assert.deepEqual(byNumber.last, [
    'orders-6f9c7b5d8-4kq2m@10.244.1.17:9090',
    'orders-6f9c7b5d8-9xw7t@10.244.2.23:9090',
  ]);
  assert.deepEqual(v6.last, ['orders-6f9c7b5d8-4kq2m@fd00:10:244:1::11:8080']);
});

it('follows ADDED, MODIFIED and DELETED events; a bookmark moves the resourceVersion and pushes nothing', async () => {
  api.onList({ status: 200, body: fixture('list-orders.json') });
  api.onWatch({ lines: fixtureLines('watch-orders.ndjson'), hold: true });
  const watcher = new Recorder();
  start({ port: 'http' }).watch('orders', watcher);
  await until(() => watcher.lists.length === 4, 'three changes after the list');

  assert.deepEqual(
    watcher.lists.map((list) => list.map((i) => i.id)),
    [
      ['orders-6f9c7b5d8-4kq2m', 'orders-6f9c7b5d8-9xw7t'],
      // ADDED orders-w5t9c with pod p3j6s
      ['orders-6f9c7b5d8-4kq2m', 'orders-6f9c7b5d8-9xw7t', 'orders-6f9c7b5d8-p3j6s'],
      // MODIFIED orders-k8x2p: pod h2n8v became ready (zr5pl stays out: terminating, not ready)
      ['orders-6f9c7b5d8-4kq2m', 'orders-6f9c7b5d8-9xw7t', 'orders-6f9c7b5d8-h2n8v', 'orders-6f9c7b5d8-p3j6s'],
      // DELETED orders-w5t9c
      ['orders-6f9c7b5d8-4kq2m', 'orders-6f9c7b5d8-9xw7t', 'orders-6f9c7b5d8-h2n8v'],
    ],
  );
  assert.deepEqual(watcher.errors, []);
});

it('pushes nothing for events that leave the ready instances as they were', async () => {
  const listed = JSON.parse(fixture('list-orders.json')) as { items: Record<string, unknown>[] };
  const [ipv4, ipv6] = listed.items;
  const event = (type: string, object: unknown) => JSON.stringify({ type, object });
  api.onList({ status: 200, body: fixture('list-orders.json') });
  api.onWatch({
    lines: [
      event('MODIFIED', {
        ...ipv4,
        metadata: { ...(ipv4?.metadata as object), resourceVersion: '1001', generation: 5 },
      }),
      event('DELETED', { ...ipv6, metadata: { ...(ipv6?.metadata as object), resourceVersion: '1002' } }),
      fixtureLines('watch-orders.ndjson')[0] ?? '', // ADDED orders-w5t9c: a change at last
    ],
    hold: true,
  });
  const watcher = new Recorder();
  start().watch('orders', watcher);
  await until(() => watcher.lists.length === 2, 'the list after the ADDED');
  assert.deepEqual(watcher.log, ['next', 'next']);
  assert.ok(watcher.last.includes('orders-6f9c7b5d8-p3j6s@10.244.4.12:9090'));
});

it('resumes a dropped watch from the last resourceVersion, bookmarks included', async () => {
  api.onList({ status: 200, body: fixture('list-orders.json') });
  api.onWatch({ lines: fixtureLines('watch-orders.ndjson') }); // then the stream ends
  api.onWatch({ lines: fixtureLines('watch-orders-resumed.ndjson'), hold: true });
  const watcher = new Recorder();
  start({ port: 'http' }).watch('orders', watcher);
  await until(() => watcher.lists.length === 5, 'the change seen by the resumed watch');

  assert.deepEqual(
    watches().map((u) => u.searchParams.get('resourceVersion')),
    ['1000', '1012'], // 1012 is the bookmark's, after the last change at 1009
  );
  assert.equal(lists().length, 1, 'a resumed watch does not list again');
  assert.deepEqual(watcher.last, [
    'orders-6f9c7b5d8-4kq2m@10.244.1.17:8080',
    'orders-6f9c7b5d8-h2n8v@10.244.1.40:8080',
  ]);
});

it('410 Gone as an ERROR event: lists again, calls resynced, and watches from the new resourceVersion', async () => {
  api.onList({ status: 200, body: fixture('list-orders.json') });
  api.onWatch({ lines: fixtureLines('watch-error-410.ndjson') });
  api.onList({ status: 200, body: fixture('list-orders-after-410.json') });
  const watcher = new Recorder();
  start({ port: 'http' }).watch('orders', watcher);
  await until(() => watches().length === 2, 'the watch after the re-list');

  assert.deepEqual(watcher.resyncs, ['410 Gone: resourceVersion expired']);
  assert.deepEqual(watcher.log, ['next', 'resynced', 'next'], 'resynced comes just before the re-listed set');
  assert.equal(lists().length, 2);
  assert.deepEqual(
    watches().map((u) => u.searchParams.get('resourceVersion')),
    ['1000', '1450'],
  );
  assert.deepEqual(watcher.last, [
    'orders-6f9c7b5d8-4kq2m@10.244.1.17:8080',
    'orders-6f9c7b5d8-h2n8v@10.244.1.40:8080',
  ]);
  assert.deepEqual(watcher.errors, [], 'a 410 is routine, not an error');
});

it('410 Gone as the HTTP status of the watch request: lists again too', async () => {
  api.onList({ status: 200, body: fixture('list-orders.json') });
  api.onWatch({ status: 410, body: fixture('status-410.json') });
  api.onList({ status: 200, body: fixture('list-orders-after-410.json') });
  const watcher = new Recorder();
  start().watch('orders', watcher);
  await until(() => watches().length === 2, 'the watch after the re-list');
  assert.deepEqual(watcher.resyncs, ['410 Gone: resourceVersion expired']);
  assert.equal(watches()[1]?.searchParams.get('resourceVersion'), '1450');
});

it('403 on the list: SY_KUBERNETES_FORBIDDEN naming the permission, then retries and recovers', async () => {
  api.onList({ status: 403, body: fixture('status-403.json') });
  api.onList({ status: 200, body: fixture('list-orders.json') });
  const watcher = new Recorder();
  start().watch('orders', watcher);
  await until(() => watcher.lists.length === 1, 'the list after the retry');

  const [err] = watcher.errors;
  assert.ok(isSwitchyardError(err, 'SY_KUBERNETES_FORBIDDEN'), String(err));
  assert.match(err.message, /grant "list" .* on endpointslices\.discovery\.k8s\.io in namespace "shop"/);
  assert.match(err.message, /cannot list resource "endpointslices"/, 'the server message is kept');
  assert.equal(err.details?.status, 403);
  assert.equal(watcher.errors.length, 1);
});

it('403 on the watch names the watch permission; the list already given stays', async () => {
  api.onList({ status: 200, body: fixture('list-orders.json') });
  api.onWatch({ status: 403, body: fixture('status-403.json').replaceAll('cannot list', 'cannot watch') });
  const watcher = new Recorder();
  start().watch('orders', watcher);
  await until(() => watcher.errors.length === 1 && watches().length === 2, 'the error and the retried watch');
  const [err] = watcher.errors;
  assert.ok(isSwitchyardError(err, 'SY_KUBERNETES_FORBIDDEN'), String(err));
  assert.match(err.message, /kubernetes watch endpointslices of Service shop\/orders: refused \(403 Forbidden/);
  assert.match(err.message, /grant "watch"/);
  // Once the retried watch is accepted the same list comes again: the client knows it is current.
  await until(() => watcher.lists.length === 2, 'the list confirmed after the retry');
  assert.deepEqual(watcher.log, ['next', 'error:SY_KUBERNETES_FORBIDDEN', 'next']);
  assert.deepEqual(watcher.lists[1], watcher.lists[0]);
  assert.equal(watches()[1]?.searchParams.get('resourceVersion'), '1000', 'retried from where it was');
});

it('a malformed watch line is skipped and reported; the events after it still apply', async () => {
  api.onList({ status: 200, body: fixture('list-orders.json') });
  api.onWatch({
    lines: [...fixtureLines('watch-orders-malformed.ndjson'), '{"type":"SURPRISE","object":{}}'],
    hold: true,
  });
  const watcher = new Recorder();
  start().watch('orders', watcher);
  await until(() => watcher.lists.length === 2 && watcher.errors.length === 2, 'the good event and two reports');

  const [notJson, unknownType] = watcher.errors;
  assert.ok(isSwitchyardError(notJson, 'SY_KUBERNETES_INVALID_RESPONSE'), String(notJson));
  assert.match(notJson.message, /skipped a watch line that is not JSON/);
  assert.ok(isSwitchyardError(unknownType, 'SY_KUBERNETES_INVALID_RESPONSE'), String(unknownType));
  assert.match(unknownType.message, /unknown type "SURPRISE"/);
  assert.ok(watcher.last.includes('orders-6f9c7b5d8-p3j6s@10.244.4.12:9090'));
  assert.equal(watches().length, 1, 'the watch went on');
});

it('an unreachable API server is reported as SY_KUBERNETES_UNAVAILABLE and retried', async () => {
  const port = Number(new URL(api.kubeConfig.getCurrentCluster()?.server ?? '').port);
  await api.close();
  const watcher = new Recorder();
  start().watch('orders', watcher);
  await until(() => watcher.errors.length >= 2, 'two failed attempts');
  const [err] = watcher.errors;
  assert.ok(isSwitchyardError(err, 'SY_KUBERNETES_UNAVAILABLE'), String(err));
  assert.match(
    err.message,
    new RegExp(`kubernetes list endpointslices of Service shop/orders: .*127\\.0\\.0\\.1:${port}`),
  );
  assert.deepEqual(watcher.lists, [], 'nothing is made up');
  api = await startFakeApiServer(); // for afterEach
});

it('close() aborts the open watch and sends no more requests; watch() after it reports SY_KUBERNETES_CLOSED', async () => {
  api.onList({ status: 200, body: fixture('list-orders.json') });
  const watcher = new Recorder();
  const discovery = start();
  discovery.watch('orders', watcher);
  await until(() => api.openWatches() === 1, 'the open watch');

  await discovery.close();
  await discovery.close(); // idempotent
  await until(() => api.openWatches() === 0, 'the watch connection to close');
  const sent = api.requests.length;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(api.requests.length, sent);

  const late = new Recorder();
  discovery.watch('orders', late);
  assert.ok(isSwitchyardError(late.errors[0], 'SY_KUBERNETES_CLOSED'));
  assert.deepEqual(watcher.errors, []);
});

it('disposing one subscription stops that watch only', async () => {
  api.onList({ status: 200, body: fixture('list-orders.json') });
  api.onList({ status: 200, body: fixture('list-orders.json') });
  const a = new Recorder();
  const b = new Recorder();
  const discovery = start();
  const subA = discovery.watch('orders', a);
  discovery.watch('orders', b);
  await until(() => api.openWatches() === 2, 'two open watches');
  subA.dispose();
  await until(() => api.openWatches() === 1, 'one watch left');
});

it('a name that is not a Service name is refused without a request', async () => {
  const discovery = start();
  for (const name of ['Orders', 'orders,app=x', '', 'a'.repeat(64)]) {
    const watcher = new Recorder();
    discovery.watch(name, watcher);
    assert.ok(isSwitchyardError(watcher.errors[0], 'SY_KUBERNETES_INVALID_SERVICE'), name);
  }
  assert.equal(api.requests.length, 0);
});
