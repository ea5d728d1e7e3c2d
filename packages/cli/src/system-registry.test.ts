import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveRegistryConfig } from '@switchyard/backends';
import { isSwitchyardError } from '@switchyard/core';
import { instanceBackendEnv, startSystemRegistry } from './system-registry.ts';

describe('instanceBackendEnv', () => {
  it('makes sqlite paths absolute against the data directory and passes server URLs on as written', () => {
    assert.deepEqual(
      instanceBackendEnv(
        { sagas: { store: 'sqlite:sagas.sqlite' }, events: { bus: 'sqlite:/var/lib/bus.sqlite' } },
        '/srv/shop/.data',
      ),
      {
        SWITCHYARD_SAGA_STORE: 'sqlite:/srv/shop/.data/sagas.sqlite',
        SWITCHYARD_EVENT_BUS: 'sqlite:/var/lib/bus.sqlite',
      },
    );
    assert.deepEqual(
      instanceBackendEnv(
        { sagas: { store: 'postgres://app@db:5432/shop?schema=s' }, events: { bus: 'nats://10.0.0.5:4222' } },
        '/d',
      ),
      { SWITCHYARD_SAGA_STORE: 'postgres://app@db:5432/shop?schema=s', SWITCHYARD_EVENT_BUS: 'nats://10.0.0.5:4222' },
    );
  });

  it('sets nothing without sagas: and events: sections', () => {
    assert.deepEqual(instanceBackendEnv({ registry: resolveRegistryConfig({}) }, '/d'), {});
  });

  it('passes the token of a consul registry as SWITCHYARD_REGISTRY_TOKEN', () => {
    const registry = resolveRegistryConfig({ backend: 'consul', url: 'http://consul:8500', token: 'secret-token' });
    assert.deepEqual(instanceBackendEnv({ registry }, '/d'), { SWITCHYARD_REGISTRY_TOKEN: 'secret-token' });
  });

  it('names the field of a bad URL', () => {
    assert.throws(
      () => instanceBackendEnv({ events: { bus: 'nats://[::1' } }, '/d'),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        /events\.bus: "nats:\/\/\[::1" is not a valid URL/.test(err.message),
    );
  });
});

describe('startSystemRegistry', () => {
  it('refuses kubernetes, which instances cannot register with, naming registry.backend', async () => {
    await assert.rejects(
      startSystemRegistry({
        config: resolveRegistryConfig({ backend: 'kubernetes' }),
        dataDir: '/nonexistent',
        services: [],
      }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') && /registry\.backend: kubernetes is read-only/.test(err.message),
    );
  });
});
