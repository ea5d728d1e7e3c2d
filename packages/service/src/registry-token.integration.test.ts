import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { HealthStatus, isSwitchyardError } from '@switchyard/core';
import { createRegistry, createRegistryServer } from '@switchyard/discovery';
import { registryUrlClient } from './keep-registered.ts';
import { startService } from './start-service.ts';

const writeToken = '5eb1c0de-write-4a1b-9c2d-3e4f5a6b7c8d';
const quiet = { info() {}, warn() {}, error() {} };

async function aclRegistry(t: TestContext) {
  const registry = createRegistry();
  const server = await createRegistryServer({
    registry,
    port: 0,
    acl: { tokens: [{ token: writeToken, policy: 'write' }] },
  });
  t.after(async () => {
    await server.close();
    await registry.close();
  });
  return { registry, server };
}

function withEnvToken(t: TestContext, token: string): void {
  const before = process.env.SWITCHYARD_REGISTRY_TOKEN;
  process.env.SWITCHYARD_REGISTRY_TOKEN = token;
  t.after(() => {
    if (before === undefined) delete process.env.SWITCHYARD_REGISTRY_TOKEN;
    else process.env.SWITCHYARD_REGISTRY_TOKEN = before;
  });
}

describe('registration with a registry ACL', () => {
  it('the registration client sends its token on every call, including warn/fail and the look-up', async (t) => {
    const { registry, server } = await aclRegistry(t);
    const anonymous = registryUrlClient(server.url, undefined);
    t.after(() => anonymous.close());
    await assert.rejects(
      anonymous.register({ Name: 'orders', ID: 'orders-1', Port: 8080 }),
      (err: unknown) => isSwitchyardError(err, 'SY_DISCOVERY_REGISTRY_REJECTED') && err.details.status === 403,
    );
    const client = registryUrlClient(server.url, writeToken);
    t.after(() => client.close());
    await client.register({ Name: 'orders', ID: 'orders-1', Port: 8080, Check: { CheckID: 'c1', TTL: '10s' } });
    assert.equal(await client.isRegistered?.('orders-1'), true);
    await client.updateTtl?.('c1', HealthStatus.Warning, 'slow');
    assert.equal(registry.checks().find((c) => c.CheckID === 'c1')?.Status, 'warning');
    assert.equal(await client.deregister('orders-1'), true);
  });

  it('startService registers with SWITCHYARD_REGISTRY_TOKEN', async (t) => {
    const { registry, server } = await aclRegistry(t);
    withEnvToken(t, writeToken);
    const service = await startService({
      name: 'svc-acl',
      port: 0,
      registry: server.url,
      handleSignals: false,
      logger: quiet,
      handler: (_req, res) => res.end('ok'),
    });
    t.after(() => service.close());
    const deadline = Date.now() + 5000;
    while (!registry.services().some((s) => s.ID === service.id) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(
      registry.services().some((s) => s.ID === service.id),
      'registered through the ACL',
    );
  });
});
