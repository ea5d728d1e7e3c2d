import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openRegistryBackend, resolveRegistryConfig } from '@switchyard/backends';
import { startSystemRegistry } from './system-registry.ts';

const ETCD = process.env.SWITCHYARD_ETCD_URL ?? 'http://127.0.0.1:23790';

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('startSystemRegistry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-system-registry-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('embedded: serves the Consul API on the configured port and gives instances its URL', async () => {
    const system = await startSystemRegistry({
      config: resolveRegistryConfig({ port: 0 }),
      dataDir: dir,
      services: [],
    });
    try {
      assert.equal(system.embedded, true);
      assert.match(system.instanceUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      const backend = await openRegistryBackend(system.instanceUrl);
      await backend.register({ Name: 'orders', ID: 'orders-1', Address: '127.0.0.1', Port: 4001 });
      await backend.close();
      assert.equal(system.registry.service('orders-1')?.Port, 4001);
    } finally {
      await system.close();
    }
  });

  it('etcd: runs no server, passes an etcd:// URL, and mirrors instances with their comings and goings', async () => {
    const prefix = `/sy-test-system-registry/${process.pid}-${Math.random().toString(36).slice(2, 8)}/`;
    const config = resolveRegistryConfig({ backend: 'etcd', url: ETCD, prefix, leaseTtl: '5s' });
    const system = await startSystemRegistry({ config, dataDir: dir, services: ['orders'] });
    try {
      assert.equal(system.embedded, false);
      assert.equal(system.instanceUrl, `etcd://${ETCD.replace(/^http:\/\//, '')}${prefix}?leaseTtl=5s`);
      const instance = await openRegistryBackend(system.instanceUrl);
      await instance.register({ Name: 'orders', ID: 'orders-1', Address: '127.0.0.1', Port: 4001 });
      await until(
        () => system.registry.instances('orders', { passing: true }).some((h) => h.Service.ID === 'orders-1'),
        'orders-1 in the mirror, passing',
      );
      await instance.close();
      await until(() => system.registry.service('orders-1') === undefined, 'orders-1 to leave the mirror');
    } finally {
      await system.close();
    }
  });
});
