import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { createConsulClient } from './consul-client.ts';
import { closedPort, closeServer, listen } from './internal/test-helpers.ts';
import { createRegistry, type Registry } from './registry.ts';
import { createRegistryServer, type RegistryServer } from './registry-server.ts';

describe('consul client failures', () => {
  test('a closed port is SY_DISCOVERY_REGISTRY_UNREACHABLE, retryable, with the socket error as cause', async () => {
    const port = await closedPort();
    await using client = createConsulClient({ url: `http://127.0.0.1:${port}` });
    await assert.rejects(client.healthService('orders'), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_DISCOVERY_REGISTRY_UNREACHABLE'));
      assert.equal(err.retryable, true);
      assert.match(err.message, /ECONNREFUSED/);
      assert.ok(err.cause instanceof Error);
      return true;
    });
  });

  test('a registry that never answers is SY_DISCOVERY_REGISTRY_TIMEOUT after fetchTimeout', async (t) => {
    const silent = await listen(() => {});
    t.after(() => closeServer(silent.server));
    await using client = createConsulClient({ url: silent.url, fetchTimeout: 100 });
    await assert.rejects(
      client.register({ Name: 'orders' }),
      (err) => isSwitchyardError(err, 'SY_DISCOVERY_REGISTRY_TIMEOUT') && err.retryable,
    );
  });

  test('an answer that is not Consul JSON is SY_DISCOVERY_INVALID_RESPONSE', async (t) => {
    const html = await listen((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<html>proxy login</html>');
    });
    t.after(() => closeServer(html.server));
    await using client = createConsulClient({ url: html.url });
    await assert.rejects(client.healthService('orders'), (err) =>
      isSwitchyardError(err, 'SY_DISCOVERY_INVALID_RESPONSE'),
    );
  });

  test('an aborted call rejects with SY_CANCELLED carrying the reason', async (t) => {
    const silent = await listen(() => {});
    t.after(() => closeServer(silent.server));
    await using client = createConsulClient({ url: silent.url });
    const controller = new AbortController();
    const pending = client.healthService('orders', { signal: controller.signal });
    const reason = new Error('shutting down');
    controller.abort(reason);
    await assert.rejects(pending, (err) => isSwitchyardError(err, 'SY_CANCELLED') && err.cause === reason);
  });
});

describe('consul client against the embedded registry', () => {
  let registry: Registry;
  let server: RegistryServer;
  before(async () => {
    registry = createRegistry();
    server = await createRegistryServer({ registry, port: 0 });
  });
  after(async () => {
    await server.close();
    await registry.close();
  });

  test('a refused registration is SY_DISCOVERY_REGISTRY_REJECTED with the status and body', async () => {
    await using client = createConsulClient({ url: server.url });
    await assert.rejects(client.register({ Name: 'orders', Port: 99_999 }), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_DISCOVERY_REGISTRY_REJECTED'));
      assert.equal(err.details.status, 400);
      assert.match(String(err.details.body), /Port: expected an integer/);
      assert.equal(err.retryable, false);
      return true;
    });
  });

  test('register, health, TTL pass, blocking health and deregister', async () => {
    await using client = createConsulClient({ url: `${server.url}/` });
    await client.register({ Name: 'orders', ID: 'orders-1', Port: 8080, Check: { TTL: '30s' } });
    const before = await client.healthService('orders', { passing: true });
    assert.deepEqual(before.entries, []);
    assert.ok(before.index > 1);

    const blocked = client.healthService('orders', { passing: true, index: before.index, wait: 5000 });
    await client.passTtl('service:orders-1', 'ready');
    const changed = await blocked;
    assert.ok(changed.index > before.index);
    assert.deepEqual(
      changed.entries.map((e) => [e.Service.ID, e.Node.Address, e.Checks.at(-1)?.Output]),
      [['orders-1', '127.0.0.1', 'ready']],
    );

    const tagged = await client.healthService('orders', { tags: ['absent'] });
    assert.deepEqual(tagged.entries, []);
    assert.equal(await client.deregister('orders-1'), true);
    assert.equal(await client.deregister('orders-1'), false, 'an unknown ID is reported, not thrown');
  });

  test('a closed client refuses calls', async () => {
    const client = createConsulClient({ url: server.url });
    await client.close();
    await client.close();
    await assert.rejects(client.healthService('x'), (err) => isSwitchyardError(err, 'SY_DISCOVERY_CLOSED'));
  });
});
