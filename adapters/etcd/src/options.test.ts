import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { Etcd3 } from 'etcd3';
import { instanceKey, servicePrefix, toInstanceRecord, toServiceInstance } from './key-layout.ts';
import { resolveEtcdRegistryOptions } from './options.ts';

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    return err.message;
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

it('defaults: local etcd, /switchyard/services/, a 10 s lease', () => {
  const resolved = resolveEtcdRegistryOptions();
  assert.deepEqual(resolved.endpoints, ['http://127.0.0.1:2379']);
  assert.equal(resolved.prefix, '/switchyard/services/');
  assert.equal(resolved.leaseTtlSeconds, 10);
  assert.equal(resolved.dialTimeoutMs, 3000);
  assert.equal(resolved.callTimeoutMs, 5000);
  assert.ok(Object.isFrozen(resolved));
});

it('rounds the lease TTL up to whole seconds and takes duration strings', () => {
  assert.equal(resolveEtcdRegistryOptions({ leaseTtl: '2500ms' }).leaseTtlSeconds, 3);
  assert.equal(resolveEtcdRegistryOptions({ leaseTtl: 2000, callTimeout: '1s' }).callTimeoutMs, 1000);
});

it('names the bad field in each error', () => {
  assert.match(
    configError(() => resolveEtcdRegistryOptions({ leaseTtl: '500ms' })),
    /etcd\.leaseTtl: expected a duration of at least 1s/,
  );
  assert.match(
    configError(() => resolveEtcdRegistryOptions({ leaseTtl: 'soon' })),
    /etcd\.leaseTtl: /,
  );
  assert.match(
    configError(() => resolveEtcdRegistryOptions({ endpoints: ['127.0.0.1:2379'] })),
    /etcd\.endpoints\[0\]: expected an http/,
  );
  assert.match(
    configError(() => resolveEtcdRegistryOptions({ endpoints: [] })),
    /etcd\.endpoints: expected at least one endpoint/,
  );
  assert.match(
    configError(() => resolveEtcdRegistryOptions({ prefix: '/svc' })),
    /etcd\.prefix: expected a prefix ending in "\/"/,
  );
  assert.match(
    configError(() => resolveEtcdRegistryOptions({ leaseTTL: '5s' } as never)),
    /leaseTTL/,
  );
  assert.match(
    configError(() => resolveEtcdRegistryOptions({ client: {} as never })),
    /etcd\.client: expected an etcd3/,
  );
});

it('takes an existing client instead of endpoints, not both', () => {
  const client = new Etcd3({ hosts: 'http://127.0.0.1:1' });
  try {
    const resolved = resolveEtcdRegistryOptions({ client });
    assert.equal(resolved.client, client);
    assert.deepEqual(resolved.endpoints, []);
    assert.match(
      configError(() => resolveEtcdRegistryOptions({ client, endpoints: ['http://127.0.0.1:2379'] })),
      /etcd\.endpoints: give either endpoints or client, not both/,
    );
  } finally {
    client.close();
  }
});

it('key layout: <prefix><service>/<id>, records in Consul field names, checks ignored', () => {
  assert.equal(instanceKey('/switchyard/services/', 'orders', 'orders-1'), '/switchyard/services/orders/orders-1');
  assert.equal(servicePrefix('/switchyard/services/', 'orders'), '/switchyard/services/orders/');
  const record = toInstanceRecord({ Name: 'orders', Port: 80, Check: { TTL: '10s' } });
  assert.deepEqual(record, {
    ID: 'orders',
    Name: 'orders',
    Address: '',
    Port: 80,
    Tags: [],
    Meta: {},
    Weights: { Passing: 1, Warning: 1 },
  });
  const range = servicePrefix('/p/', 'orders');
  const instance = toServiceInstance('orders', `${range}orders`, JSON.stringify(record), range);
  assert.equal(instance.address, '127.0.0.1');
  assert.equal(instance.status, 'passing');
  assert.throws(() => toServiceInstance('orders', `${range}other`, JSON.stringify(record), range), {
    code: 'SY_ETCD_INVALID_VALUE',
  });
  assert.throws(
    () => toInstanceRecord({ Name: 'orders', ID: 'a/b' }),
    (err: Error) => /ID: must not contain/.test(err.message),
  );
});
