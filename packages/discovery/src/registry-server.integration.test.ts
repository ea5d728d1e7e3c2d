import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import Consul from 'consul';
import { request } from 'undici';
import { closeServer, listen, nextEvent } from './internal/test-helpers.ts';
import { createRegistry, type Registry } from './registry.ts';
import { createRegistryServer, type RegistryServer } from './registry-server.ts';
import type { HealthServiceEntry } from './types.ts';

let registry: Registry;
let server: RegistryServer;

before(async () => {
  registry = createRegistry();
  server = await createRegistryServer({ registry, port: 0, maxBodyBytes: 4096 });
});

after(async () => {
  await server.close();
  await registry.close();
});

async function call(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: string) {
  const response = await request(`${server.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

describe('bad input is answered like Consul, never crashing the server', () => {
  test('a malformed register body is 400 and says the JSON is malformed', async () => {
    const res = await call('PUT', '/v1/agent/service/register', '{"Name": "orders",');
    assert.equal(res.status, 400);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(res.text, /^Request decode failed: malformed JSON/);
  });

  test('an empty body, a non-object, a missing name and a bad port are 400 naming the problem', async () => {
    assert.match((await call('PUT', '/v1/agent/service/register', '')).text, /empty body/);
    assert.match((await call('PUT', '/v1/agent/service/register', '[1]')).text, /expected a JSON object/);
    const missing = await call('PUT', '/v1/agent/service/register', '{"Port": 80}');
    assert.equal(missing.status, 400);
    assert.match(missing.text, /Name: Missing service name/);
    const port = await call('PUT', '/v1/agent/service/register', '{"Name": "a", "Port": -1}');
    assert.equal(port.status, 400);
    assert.match(port.text, /Port: expected an integer from 0 to 65535, got -1/);
  });

  test('a body over the limit is 413', async () => {
    const res = await call(
      'PUT',
      '/v1/agent/service/register',
      JSON.stringify({ Name: 'a', Meta: { k: 'x'.repeat(5000) } }),
    );
    assert.equal(res.status, 413);
    assert.match(res.text, /too large/);
  });

  test('the wrong method is 405 with Allow, an unknown path 404', async () => {
    const wrong = await call('GET', '/v1/agent/service/register');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'PUT');
    assert.equal((await call('POST', '/v1/catalog/services')).status, 405);
    assert.equal((await call('GET', '/v1/kv/nope')).status, 404);
  });

  test('unknown service and check IDs are 404; a non-TTL check cannot be set', async () => {
    const deregister = await call('PUT', '/v1/agent/service/deregister/ghost');
    assert.equal(deregister.status, 404);
    assert.match(deregister.text, /Unknown service ID "ghost"/);
    assert.equal((await call('GET', '/v1/agent/service/ghost')).status, 404);
    assert.equal((await call('PUT', '/v1/agent/check/pass/ghost')).status, 404);
    registry.register({ Name: 'tcp-only', Check: { TCP: '127.0.0.1:9', Interval: '1h', Timeout: '50ms' } });
    const notTtl = await call('PUT', '/v1/agent/check/pass/service:tcp-only');
    assert.equal(notTtl.status, 400);
    assert.match(notTtl.text, /does not have associated TTL/);
    registry.deregister('tcp-only');
  });

  test('bad blocking parameters, a bad passing flag and a foreign datacenter are refused', async () => {
    assert.equal((await call('GET', '/v1/health/service/a?index=x')).text.trim(), 'Invalid index');
    assert.equal((await call('GET', '/v1/health/service/a?index=1&wait=soon')).text.trim(), 'Invalid wait time');
    assert.equal((await call('GET', '/v1/health/service/a?passing=maybe')).status, 400);
    assert.equal((await call('GET', '/v1/health/service/')).text.trim(), 'Missing service name');
    assert.equal((await call('GET', '/v1/catalog/services?dc=dc9')).status, 500);
    assert.equal((await call('GET', '/v1/agent/service/%E0%A4%A')).status, 400);
  });
});

describe('the consul npm client works against the embedded registry', () => {
  let consul: Consul;
  before(() => {
    const url = new URL(server.url);
    consul = new Consul({ host: url.hostname, port: Number(url.port) });
  });
  after(() => consul.destroy());

  test('register, health.service passing, catalog.service.list, deregister', async () => {
    await consul.agent.service.register({
      name: 'orders',
      id: 'orders-1',
      tags: ['v1', 'http'],
      meta: { version: '1' },
      address: '127.0.0.1',
      port: 8080,
      check: { name: 'ttl', ttl: '30s', status: 'passing', timeout: '1s' },
    });
    await consul.agent.service.register({
      name: 'orders',
      id: 'orders-2',
      port: 8081,
      check: { name: 'ttl', ttl: '30s', timeout: '1s' },
    });

    const passing = (await consul.health.service({ service: 'orders', passing: true })) as HealthServiceEntry[];
    assert.deepEqual(
      passing.map((e) => e.Service.ID),
      ['orders-1'],
      'orders-2 starts critical, as in Consul',
    );
    const [entry] = passing;
    assert.equal(entry?.Node.Node, 'switchyard');
    assert.deepEqual(entry?.Service.Tags, ['v1', 'http']);
    assert.deepEqual(entry?.Service.Meta, { version: '1' });
    assert.deepEqual(
      entry?.Checks.map((c) => [c.CheckID, c.Status]),
      [
        ['serfHealth', 'passing'],
        ['service:orders-1', 'passing'],
      ],
    );
    const all = (await consul.health.service('orders')) as HealthServiceEntry[];
    assert.equal(all.length, 2);
    const tagged = (await consul.health.service({ service: 'orders', tag: 'http' })) as HealthServiceEntry[];
    assert.deepEqual(
      tagged.map((e) => e.Service.ID),
      ['orders-1'],
    );

    assert.deepEqual(await consul.catalog.service.list(), { orders: ['v1', 'http'] });
    const nodes = (await consul.catalog.service.nodes('orders')) as { ServiceID: string; ServicePort: number }[];
    assert.deepEqual(
      nodes.map((n) => [n.ServiceID, n.ServicePort]),
      [
        ['orders-1', 8080],
        ['orders-2', 8081],
      ],
    );
    const services = (await consul.agent.service.list()) as Record<string, { Service: string }>;
    assert.deepEqual(Object.keys(services).sort(), ['orders-1', 'orders-2']);

    await consul.agent.service.deregister('orders-1');
    await consul.agent.service.deregister({ id: 'orders-2' });
    assert.deepEqual(await consul.catalog.service.list(), {});
  });

  test('consul.watch receives a change after a register', async () => {
    const watch = consul.watch({
      method: consul.health.service,
      options: { service: 'payments', passing: 'true', wait: '5s' },
    });
    const changes: unknown[][] = [];
    const errors: unknown[] = [];
    const listeners = new Set<(data: unknown[]) => void>();
    watch.on('change', (data: unknown[]) => {
      changes.push(data);
      for (const listener of listeners) listener(data);
    });
    watch.on('error', (err: unknown) => errors.push(err));
    try {
      const subscribe = (listener: (data: unknown[]) => void) => {
        listeners.add(listener);
        for (const seen of changes) listener(seen);
        return () => listeners.delete(listener);
      };
      await nextEvent(subscribe, (data) => data.length === 0, 'the first (empty) answer');
      await consul.agent.service.register({
        name: 'payments',
        id: 'payments-1',
        port: 9000,
        check: { name: 'ttl', ttl: '30s', status: 'passing', timeout: '1s' },
      });
      const data = (await nextEvent(
        subscribe,
        (d) => d.length === 1,
        'the registered instance',
      )) as HealthServiceEntry[];
      assert.equal(data[0]?.Service.ID, 'payments-1');
      assert.deepEqual(errors, []);
    } finally {
      watch.end();
      registry.deregister('payments-1');
    }
  });

  test('TTL checks are set through check/pass, warn and fail', async () => {
    await consul.agent.service.register({
      name: 'ttl',
      id: 'ttl-1',
      check: { name: 'ttl', ttl: '30s', timeout: '1s' },
    });
    await consul.agent.check.pass({ id: 'service:ttl-1', note: 'alive' });
    assert.equal(registry.check('service:ttl-1')?.Output, 'alive');
    assert.equal(registry.check('service:ttl-1')?.Status, 'passing');
    await consul.agent.check.warn('service:ttl-1');
    assert.equal(registry.check('service:ttl-1')?.Status, 'warning');
    await consul.agent.check.fail('service:ttl-1');
    const checks = (await consul.agent.check.list()) as Record<string, { Status: string; Type: string }>;
    assert.equal(checks['service:ttl-1']?.Status, 'critical');
    assert.equal(checks['service:ttl-1']?.Type, 'ttl');
    await consul.agent.service.deregister('ttl-1');
  });

  test('status endpoints report the single local leader', async () => {
    assert.equal(await consul.status.leader(), '127.0.0.1:8300');
    assert.deepEqual(await consul.status.peers(), ['127.0.0.1:8300']);
  });
});

describe('blocking queries', () => {
  test('every read carries X-Consul-Index and the leader headers', async () => {
    const res = await call('GET', '/v1/catalog/services');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.ok(Number(res.headers['x-consul-index']) >= 1);
    assert.equal(res.headers['x-consul-knownleader'], 'true');
    assert.equal(res.headers['x-consul-lastcontact'], '0');
  });

  test('a query at the current index waits for a change to that service only', async () => {
    const first = await call('GET', '/v1/health/service/inventory');
    const index = Number(first.headers['x-consul-index']);
    let answered = false;
    const pending = call('GET', `/v1/health/service/inventory?index=${index}&wait=5s`).then((res) => {
      answered = true;
      return res;
    });
    // A change to another service must not wake the query.
    const other = await call('PUT', '/v1/agent/service/register', '{"Name":"unrelated"}');
    assert.equal(other.status, 200);
    const probe = await call('GET', '/v1/agent/services');
    assert.ok(Number(probe.headers['x-consul-index']) > index);
    assert.equal(answered, false);

    await call('PUT', '/v1/agent/service/register', '{"Name":"inventory","ID":"inv-1","Port":7000}');
    const res = await pending;
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers['x-consul-index']) > index);
    assert.deepEqual(
      (JSON.parse(res.text) as HealthServiceEntry[]).map((e) => e.Service.ID),
      ['inv-1'],
    );
    registry.deregister('inv-1');
    registry.deregister('unrelated');
  });

  test('a query whose wait runs out answers with the same index', async () => {
    const first = await call('GET', '/v1/health/service/quiet');
    const index = first.headers['x-consul-index'];
    const res = await call('GET', `/v1/health/service/quiet?index=${index}&wait=100ms`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-consul-index'], index);
    assert.equal(res.text, '[]');
  });

  test('an index from an earlier registry is answered at once with the current, lower index', async () => {
    const res = await call('GET', '/v1/health/service/quiet?index=999999&wait=10m');
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers['x-consul-index']) < 999_999);
  });

  test('close() answers pending blocking queries at once', async () => {
    const own = createRegistry();
    let markParked: () => void = () => {};
    const parked = new Promise<void>((resolve) => {
      markParked = resolve;
    });
    // The same registry, reporting when the server parks a query on it.
    const observed: Registry = Object.assign(Object.create(own) as Registry, {
      waitForChange: (...args: Parameters<Registry['waitForChange']>) => {
        markParked();
        return own.waitForChange(...args);
      },
    });
    const closing = await createRegistryServer({ registry: observed, port: 0 });
    const pending = request(`${closing.url}/v1/health/service/x?index=1&wait=10m`).then(async (res) => {
      await res.body.text();
      return res.statusCode;
    });
    await parked;
    await closing.close();
    await closing.close();
    assert.equal(await pending, 200);
    await own.close();
  });
});

describe('listening', () => {
  test('a port in use fails with SY_DISCOVERY_LISTEN_FAILED', async (t) => {
    const taken = await listen(() => {});
    t.after(() => closeServer(taken.server));
    await assert.rejects(
      createRegistryServer({ registry, port: taken.port }),
      (err) => isSwitchyardError(err, 'SY_DISCOVERY_LISTEN_FAILED') && /EADDRINUSE/.test(err.message),
    );
  });
});
