/**
 * The embedded registry driven by the `consul` npm client: every check kind, discovery with
 * passing/tag/filter, blocking watches, TTL expiry, critical deregistration and a restart on the
 * same data file. Durations are short and every wait has a deadline.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Consul from 'consul';
import { request } from 'undici';
import { closeServer, listen, nextEvent, waitForRegistry } from './internal/test-helpers.ts';
import { createRegistry, type Registry } from './registry.ts';
import { createRegistryServer, type RegistryServer } from './registry-server.ts';
import type { HealthCheck, HealthServiceEntry } from './types.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-registry-consul-'));
const dataFile = join(dir, 'registry.db');
let registry: Registry;
let server: RegistryServer;
let consul: Consul;
/** Status the upstream's /health answers with; tests change it. */
let healthStatus = 200;
let upstream: Awaited<ReturnType<typeof listen>>;

async function start(): Promise<void> {
  registry = createRegistry({ dataFile });
  server = await createRegistryServer({ registry, port: 0 });
  const url = new URL(server.url);
  consul = new Consul({ host: url.hostname, port: Number(url.port) });
}

async function stop(): Promise<void> {
  consul.destroy();
  await server.close();
  await registry.close();
}

before(async () => {
  upstream = await listen((_req, res) => {
    res.statusCode = healthStatus;
    res.end(`status ${healthStatus}`);
  });
  await start();
});

after(async () => {
  await stop();
  await closeServer(upstream.server);
  rmSync(dir, { recursive: true, force: true });
});

/** Follows `consul.watch` on health.service, resolving with the first answer that satisfies `predicate`. */
async function watchUntil(
  options: Record<string, unknown>,
  predicate: (entries: HealthServiceEntry[]) => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<HealthServiceEntry[]> {
  const watch = consul.watch({ method: consul.health.service, options: { wait: '5s', ...options } });
  const seen: HealthServiceEntry[][] = [];
  const listeners = new Set<(data: HealthServiceEntry[]) => void>();
  watch.on('change', (data: HealthServiceEntry[]) => {
    seen.push(data);
    for (const listener of listeners) listener(data);
  });
  watch.on('error', () => {});
  try {
    return await nextEvent<HealthServiceEntry[]>(
      (listener) => {
        listeners.add(listener);
        for (const data of seen) listener(data);
        return () => listeners.delete(listener);
      },
      predicate,
      what,
      timeoutMs,
    );
  } finally {
    watch.end();
  }
}

function statusOf(checkId: string): string | undefined {
  return registry.check(checkId)?.Status;
}

describe('the consul client against the embedded registry', () => {
  test('registers HTTP, TCP and TTL checks and discovers by passing and tag', async () => {
    await consul.agent.service.register({
      name: 'web',
      id: 'web-1',
      tags: ['v1', 'primary'],
      meta: { version: '2' },
      address: '127.0.0.1',
      port: upstream.port,
      checks: [
        { checkid: 'web-1-http', name: 'http', http: `${upstream.url}/health`, interval: '100ms', timeout: '1s' },
        { checkid: 'web-1-tcp', name: 'tcp', tcp: `127.0.0.1:${upstream.port}`, interval: '100ms', timeout: '1s' },
        { checkid: 'web-1-ttl', name: 'ttl', ttl: '30s', timeout: '1s' },
      ],
    });
    await consul.agent.service.register({ name: 'web', id: 'web-2', tags: ['v2'], port: 1 });
    await waitForRegistry(
      registry,
      () => statusOf('web-1-http') === 'passing' && statusOf('web-1-tcp') === 'passing',
      'HTTP and TCP checks passing',
    );
    assert.equal(statusOf('web-1-ttl'), 'critical', 'a TTL check starts critical');
    await consul.agent.check.pass({ id: 'web-1-ttl', note: 'alive' });

    const passing = (await consul.health.service({ service: 'web', passing: true })) as HealthServiceEntry[];
    assert.deepEqual(
      passing.map((e) => e.Service.ID),
      ['web-1', 'web-2'],
      'an instance without checks is passing',
    );
    const tagged = (await consul.health.service({ service: 'web', tag: 'v1' })) as HealthServiceEntry[];
    assert.deepEqual(
      tagged.map((e) => e.Service.ID),
      ['web-1'],
    );
    const web1 = tagged[0];
    assert.deepEqual(web1?.Checks.map((c) => [c.CheckID, c.Status]).sort(), [
      ['serfHealth', 'passing'],
      ['web-1-http', 'passing'],
      ['web-1-tcp', 'passing'],
      ['web-1-ttl', 'passing'],
    ]);
    assert.match(web1?.Checks.find((c) => c.CheckID === 'web-1-http')?.Output ?? '', /200 OK Output: status 200/);

    // HTTP: 429 is warning, anything else non-2xx critical.
    healthStatus = 429;
    await waitForRegistry(registry, () => statusOf('web-1-http') === 'warning', 'HTTP 429 -> warning');
    healthStatus = 503;
    await waitForRegistry(registry, () => statusOf('web-1-http') === 'critical', 'HTTP 503 -> critical');
    const afterFailure = (await consul.health.service({ service: 'web', passing: true })) as HealthServiceEntry[];
    assert.deepEqual(
      afterFailure.map((e) => e.Service.ID),
      ['web-2'],
    );
    healthStatus = 200;
    await waitForRegistry(registry, () => statusOf('web-1-http') === 'passing', 'HTTP back to passing');
  });

  test('filter expressions select entries; a malformed one is 400 naming the position', async () => {
    const byMeta = (await consul.health.service({
      service: 'web',
      filter: 'Service.Meta.version == "2" and "primary" in Service.Tags',
    })) as HealthServiceEntry[];
    assert.deepEqual(
      byMeta.map((e) => e.Service.ID),
      ['web-1'],
    );
    const byPort = (await consul.health.service({
      service: 'web',
      filter: 'Service.Port == 1',
    })) as HealthServiceEntry[];
    assert.deepEqual(
      byPort.map((e) => e.Service.ID),
      ['web-2'],
    );
    const bad = await request(`${server.url}/v1/health/service/web?filter=${encodeURIComponent('Service.Port ==')}`);
    assert.equal(bad.statusCode, 400);
    assert.match(
      await bad.body.text(),
      /^Failed to create boolean expression evaluator: 1:16 \(15\): expected a value/,
    );
    const unknown = await request(
      `${server.url}/v1/health/service/web?filter=${encodeURIComponent('Service.Nope == 1')}`,
    );
    assert.equal(unknown.statusCode, 400);
    assert.match(await unknown.body.text(), /Selector "Service.Nope" is not valid/);
  });

  test('filter works on catalog/service, agent/services and agent/checks too', async () => {
    const get = async (path: string) => {
      const res = await request(`${server.url}${path}`);
      assert.equal(res.statusCode, 200, path);
      return (await res.body.json()) as unknown;
    };
    const q = encodeURIComponent;
    const catalog = (await get(`/v1/catalog/service/web?filter=${q('ServicePort == 1')}`)) as { ServiceID: string }[];
    assert.deepEqual(
      catalog.map((e) => e.ServiceID),
      ['web-2'],
    );
    const agent = (await get(`/v1/agent/services?filter=${q('"primary" in Tags')}`)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(agent), ['web-1']);
    const checks = (await get(`/v1/agent/checks?filter=${q('Type == tcp')}`)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(checks), ['web-1-tcp']);
  });

  test('a blocking query on health/state wakes when a check enters that state', async () => {
    const first = await request(`${server.url}/v1/health/state/warning`);
    const index = Number(first.headers['x-consul-index']);
    assert.deepEqual(await first.body.json(), []);
    const blocked = request(`${server.url}/v1/health/state/warning?index=${index}&wait=5s`);
    setTimeout(() => void consul.agent.check.warn({ id: 'web-1-ttl' }), 50);
    const res = await blocked;
    const checks = (await res.body.json()) as HealthCheck[];
    assert.deepEqual(
      checks.map((c) => c.CheckID),
      ['web-1-ttl'],
    );
    await consul.agent.check.pass({ id: 'web-1-ttl' });
  });

  test('checks registered on their own, health/checks and health/state', async () => {
    await consul.agent.check.register({
      name: 'disk',
      checkid: 'web-2-disk',
      serviceid: 'web-2',
      ttl: '30s',
      timeout: '1s',
    });
    const checks = (await consul.health.checks({ service: 'web' })) as unknown as HealthCheck[];
    assert.ok(checks.some((c) => c.CheckID === 'web-2-disk' && c.ServiceID === 'web-2'));
    const critical = (await consul.health.state({ state: 'critical' })) as unknown as HealthCheck[];
    assert.deepEqual(
      critical.map((c) => c.CheckID),
      ['web-2-disk'],
    );
    const any = (await consul.health.state('any')) as unknown as HealthCheck[];
    assert.ok(any.some((c) => c.CheckID === 'serfHealth'));
    const agentChecks = (await consul.agent.check.list()) as Record<string, HealthCheck>;
    assert.equal(agentChecks['web-2-disk']?.Status, 'critical');
    await consul.agent.check.deregister('web-2-disk');
    assert.equal(registry.check('web-2-disk'), undefined);
    await assert.rejects(consul.agent.check.deregister('web-2-disk'), (err: { response?: { statusCode?: number } }) => {
      assert.equal(err.response?.statusCode, 404);
      return true;
    });
    const badState = await request(`${server.url}/v1/health/state/sideways`);
    assert.equal(badState.statusCode, 400);
    await badState.body.dump();
  });

  test('invalid registrations are 400 saying what is wrong and change nothing', async () => {
    const index = registry.index;
    const cases: [unknown, RegExp][] = [
      [{ Port: 80 }, /Name: Missing service name/],
      [{ Name: 'x', Port: 99999 }, /Port: expected an integer from 0 to 65535, got 99999/],
      [{ Name: 'x', Check: { GRPC: '127.0.0.1:1', Interval: '1s' } }, /GRPC checks are not supported/],
      [{ Name: 'x', Check: { TTL: '10 parsecs' } }, /Check.TTL: expected a duration/],
    ];
    for (const [body, pattern] of cases) {
      const res = await request(`${server.url}/v1/agent/service/register`, {
        method: 'PUT',
        body: JSON.stringify(body),
      });
      assert.equal(res.statusCode, 400);
      assert.match(await res.body.text(), pattern);
    }
    const res = await request(`${server.url}/v1/agent/check/register`, { method: 'PUT', body: '{"TTL":"1s"}' });
    assert.equal(res.statusCode, 400);
    assert.match(await res.body.text(), /Name: Missing check name/);
    assert.equal(registry.index, index);
  });

  test('a watch sees a TTL check expire to critical', async () => {
    await consul.agent.service.register({
      name: 'beat',
      id: 'beat-1',
      check: { checkid: 'beat-1-ttl', name: 'ttl', ttl: '300ms', status: 'passing', timeout: '1s' },
    });
    const started = performance.now();
    const entries = await watchUntil(
      { service: 'beat' },
      (data) => data[0]?.Checks.some((c) => c.CheckID === 'beat-1-ttl' && c.Status === 'critical') === true,
      'the TTL expiry',
    );
    assert.ok(performance.now() - started >= 250, 'not before the TTL');
    assert.equal(entries[0]?.Checks.find((c) => c.CheckID === 'beat-1-ttl')?.Output, 'TTL expired');
  });

  test('DeregisterCriticalServiceAfter removes the instance, and a watch sees it go', async () => {
    await consul.agent.service.register({
      name: 'flaky',
      id: 'flaky-1',
      check: { name: 'ttl', ttl: '200ms', status: 'passing', deregistercriticalserviceafter: '300ms', timeout: '1s' },
    });
    await watchUntil({ service: 'flaky' }, (data) => data.length === 1, 'the instance');
    await watchUntil({ service: 'flaky' }, (data) => data.length === 0, 'the instance removed');
    assert.equal(registry.service('flaky-1'), undefined);
  });

  test('a blocking query returns as soon as a check changes status', async () => {
    await consul.agent.service.register({
      name: 'pulse',
      id: 'pulse-1',
      check: { checkid: 'pulse-1-ttl', name: 'ttl', ttl: '30s', status: 'passing', timeout: '1s' },
    });
    const first = await request(`${server.url}/v1/health/service/pulse`);
    const index = Number(first.headers['x-consul-index']);
    await first.body.dump();
    const started = performance.now();
    const blocked = request(`${server.url}/v1/health/service/pulse?index=${index}&wait=10s`);
    setTimeout(() => void consul.agent.check.fail({ id: 'pulse-1-ttl' }), 50);
    const res = await blocked;
    const entries = (await res.body.json()) as HealthServiceEntry[];
    assert.ok(Number(res.headers['x-consul-index']) > index);
    assert.ok(performance.now() - started < 2000, 'woke at once, well before the wait');
    assert.equal(entries[0]?.Checks.find((c) => c.CheckID === 'pulse-1-ttl')?.Status, 'critical');
  });

  test('registrations survive a restart on the same data file', async () => {
    await consul.agent.check.pass({ id: 'pulse-1-ttl' });
    const before = ((await consul.agent.service.list()) as Record<string, unknown>) ?? {};
    await stop();
    await start();
    const afterRestart = (await consul.agent.service.list()) as Record<string, { Port: number; Tags: string[] }>;
    assert.deepEqual(Object.keys(afterRestart).sort(), Object.keys(before).sort());
    assert.deepEqual(afterRestart['web-1']?.Tags, ['v1', 'primary']);
    assert.equal(statusOf('pulse-1-ttl'), 'passing', 'a TTL check resumes its last status');
    // HTTP and TCP checks start critical and are probed again at once.
    await waitForRegistry(
      registry,
      () => statusOf('web-1-http') === 'passing' && statusOf('web-1-tcp') === 'passing',
      'checks passing again after the restart',
    );
    const passing = (await consul.health.service({ service: 'web', passing: true, tag: 'v1' })) as HealthServiceEntry[];
    assert.deepEqual(
      passing.map((e) => e.Service.ID),
      ['web-1'],
    );
  });
});
