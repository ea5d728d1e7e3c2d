import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { resolveConsulClientOptions, resolveRegistryOptions } from './options.ts';

test('registry options default to 127.0.0.1:8500 and are frozen', () => {
  const options = resolveRegistryOptions();
  assert.deepEqual(options, { host: '127.0.0.1', port: 8500 });
  assert.ok(Object.isFrozen(options));
});

test('a bad registry port or an unknown key fails with the path', () => {
  assert.throws(
    () => resolveRegistryOptions({ port: 70_000 }),
    (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('registry.port'),
  );
  assert.throws(
    () => resolveRegistryOptions({ prot: 1 }),
    (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('did you mean "port"'),
  );
});

test('consul client options need an http(s) URL and parse fetchTimeout', () => {
  assert.equal(resolveConsulClientOptions({ url: 'http://127.0.0.1:8500', fetchTimeout: '2s' }).fetchTimeout, 2000);
  assert.throws(
    () => resolveConsulClientOptions({ url: 'consul.local:8500' }),
    (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('consul.url'),
  );
});
