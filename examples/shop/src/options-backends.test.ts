import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveShopBackends } from './options.ts';

describe('resolveShopBackends', () => {
  it('falls back to the SQLite files in the data directory when nothing is set', () => {
    assert.deepEqual(resolveShopBackends({}, '/srv/shop'), {
      sagaStore: 'sqlite:/srv/shop/orders-sagas.sqlite',
      eventBus: 'sqlite:/srv/shop/bus.sqlite',
      registry: undefined,
    });
  });

  it('takes the saga store, bus and an etcd registry from the environment switchyard up sets', () => {
    assert.deepEqual(
      resolveShopBackends(
        {
          SWITCHYARD_SAGA_STORE: ' postgres://app@db:5432/shop?schema=sagas ',
          SWITCHYARD_EVENT_BUS: 'nats://127.0.0.1:4222?stream=SHOP',
          SWITCHYARD_REGISTRY_URL: 'etcd://127.0.0.1:2379/shop/services/',
        },
        '/srv/shop',
      ),
      {
        sagaStore: 'postgres://app@db:5432/shop?schema=sagas',
        eventBus: 'nats://127.0.0.1:4222?stream=SHOP',
        registry: 'etcd://127.0.0.1:2379/shop/services/',
      },
    );
  });

  it('leaves an http registry (the Consul API) and empty variables to the defaults', () => {
    const backends = resolveShopBackends(
      { SWITCHYARD_REGISTRY_URL: 'http://127.0.0.1:8500', SWITCHYARD_EVENT_BUS: '  ' },
      '/d',
    );
    assert.equal(backends.registry, undefined);
    assert.equal(backends.eventBus, 'sqlite:/d/bus.sqlite');
  });
});
