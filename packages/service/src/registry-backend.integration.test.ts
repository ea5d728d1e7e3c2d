import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { createRegistry, embeddedRegistry } from '@switchyard/discovery';
import { resolveServiceOptions } from './options.ts';
import { registerSelf } from './register-self.ts';
import { startService } from './start-service.ts';

const quiet = { info() {}, warn() {}, error() {} };

// A registry that is not Consul-compatible (etcd, which `switchyard up` names with an etcd://
// SWITCHYARD_REGISTRY_URL) is opened by the caller and passed in: any RegistryBackend fits.
describe('a non-HTTP registry', () => {
  it('startService registers through a RegistryBackend given as registrationClient, even with an etcd:// URL', async () => {
    const registry = createRegistry();
    const backend = embeddedRegistry(registry);
    const service = await startService({
      name: 'orders',
      id: 'orders-1',
      port: 0,
      registry: 'etcd://127.0.0.1:2379/switchyard/services/',
      registrationClient: backend,
      handleSignals: false,
      logger: quiet,
      handler: (_req, res) => res.end('ok'),
    });
    try {
      assert.equal(registry.service('orders-1')?.Port, service.port);
    } finally {
      await service.close();
      await backend.close();
      await registry.close();
    }
    assert.equal(registry.service('orders-1'), undefined, 'deregistered on close');
  });

  it('startService fails at once with service.registry for an etcd:// URL and no client, listening nowhere', async () => {
    const logged: string[] = [];
    await assert.rejects(
      startService({
        name: 'orders',
        port: 0,
        registry: 'etcd://127.0.0.1:2379',
        handleSignals: false,
        logger: { ...quiet, info: (_obj, msg) => logged.push(msg ?? '') },
        handler: (_req, res) => res.end('ok'),
      }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        /service\.registry: "etcd:\/\/127\.0\.0\.1:2379" is not an http\(s\) registry URL: open that registry with openRegistryBackend\(\)/.test(
          err.message,
        ),
    );
    assert.deepEqual(logged, [], 'never started');
  });

  it('takes an etcd:// SWITCHYARD_REGISTRY_URL from the environment; a malformed one names service.registry', () => {
    assert.equal(
      resolveServiceOptions({ name: 'orders' }, { SWITCHYARD_REGISTRY_URL: 'etcd://10.0.0.3:2379,10.0.0.4:2379/x/' })
        .registry,
      'etcd://10.0.0.3:2379,10.0.0.4:2379/x/',
    );
    assert.throws(
      () => resolveServiceOptions({ name: 'orders' }, { SWITCHYARD_REGISTRY_URL: '127.0.0.1:8500' }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') && /service\.registry: expected a registry URL/.test(err.message),
    );
  });

  it('registerSelf takes a RegistryBackend as registry', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const registry = createRegistry();
    const backend = embeddedRegistry(registry);
    const registration = await registerSelf({
      name: 'payments',
      id: 'payments-1',
      address: '127.0.0.1',
      port,
      registry: backend,
      check: { type: 'ttl', ttl: '10s' },
      handleSignals: false,
      logger: quiet,
    });
    try {
      assert.equal(registration.registered, true);
      assert.equal(registry.service('payments-1')?.Port, port);
    } finally {
      assert.equal(await registration.deregister(), true);
      await backend.close();
      await registry.close();
      server.close();
    }
  });
});
