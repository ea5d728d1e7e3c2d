import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDiscoveryClient } from './discovery-client.ts';
import { createRegistry } from './registry.ts';
import { consulRegistry, embeddedRegistry, type RegistryBackend } from './registry-backend.ts';
import { createRegistryServer } from './registry-server.ts';

/** What every backend must do: register, discover with tags and passing-only, watch, deregister. */
async function backendContract(backend: RegistryBackend): Promise<void> {
  const discovery = createDiscoveryClient({ source: backend, initialTimeout: '2s' });
  try {
    await backend.register({
      Name: 'carts',
      ID: 'carts-1',
      Port: 8081,
      Tags: ['v1'],
      Check: { TTL: '30s', Status: 'passing' },
    });
    await backend.register({
      Name: 'carts',
      ID: 'carts-2',
      Port: 8082,
      Tags: ['v2'],
      Check: { TTL: '30s', Status: 'warning' },
    });
    assert.deepEqual(
      (await discovery.instances('carts')).map((i) => i.id),
      ['carts-1', 'carts-2'],
    );
    assert.deepEqual(
      (await discovery.instances('carts', { tags: ['v2'] })).map((i) => i.id),
      ['carts-2'],
    );
    assert.deepEqual(
      (await discovery.instances('carts', { passing: true })).map((i) => i.id),
      ['carts-1'],
    );

    const stream = discovery.watch('carts');
    const first = await stream.next();
    assert.equal(first.done, false);
    assert.equal(await backend.deregister('carts-1'), true);
    assert.equal(await backend.deregister('carts-1'), false, 'a second deregistration finds nothing');
    const deadline = Date.now() + 5_000;
    let ids: string[] = [];
    while (Date.now() < deadline) {
      const event = await stream.next();
      if (event.done) break;
      if (event.value.type === 'instances') {
        ids = event.value.instances.map((i) => i.id);
        if (ids.length === 1) break;
      }
    }
    assert.deepEqual(ids, ['carts-2'], 'the watch saw the deregistration');
    await stream.return?.();
  } finally {
    await discovery.close();
  }
}

describe('RegistryBackend', () => {
  it('embeddedRegistry keeps the contract and leaves the registry open', async () => {
    const registry = createRegistry();
    try {
      await backendContract(embeddedRegistry(registry));
      assert.equal(registry.closed, false);
    } finally {
      await registry.close();
    }
  });

  it('consulRegistry keeps the contract against the embedded Consul API', async () => {
    const registry = createRegistry();
    const server = await createRegistryServer({ registry, port: 0 });
    try {
      await backendContract(consulRegistry({ url: server.url, wait: '2s' }));
      assert.equal(registry.service('carts-2')?.Port, 8082, 'registered through the HTTP API');
    } finally {
      await server.close();
      await registry.close();
    }
  });

  it('an aborted signal refuses an embedded registration without changing anything', async () => {
    const registry = createRegistry();
    try {
      const backend = embeddedRegistry(registry);
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(backend.register({ Name: 'x', Port: 1 }, controller.signal), { code: 'SY_CANCELLED' });
      assert.equal(registry.services().length, 0);
    } finally {
      await registry.close();
    }
  });
});
