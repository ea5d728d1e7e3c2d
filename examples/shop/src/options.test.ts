import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSwitchyardError } from '@switchyard/core';
import {
  defaultDataDir,
  resolveDataDir,
  resolveInstanceId,
  resolveNodeHandlerOptions,
  resolvePaymentsLimit,
} from './options.ts';

describe('resolvePaymentsLimit', () => {
  it('refuses a value that is not a number > 0, naming PAYMENTS_LIMIT and the value', () => {
    for (const raw of ['abc', '0', '-5', 'Infinity', '10 euros']) {
      assert.throws(
        () => resolvePaymentsLimit({ PAYMENTS_LIMIT: raw }),
        (err) =>
          isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
          err.message.includes(`PAYMENTS_LIMIT: expected a number > 0, got ${JSON.stringify(raw)}`),
        raw,
      );
    }
  });

  it('reads a number and defaults to 1000 when unset or empty', () => {
    assert.equal(resolvePaymentsLimit({ PAYMENTS_LIMIT: '250.5' }), 250.5);
    assert.equal(resolvePaymentsLimit({ PAYMENTS_LIMIT: ' 42 ' }), 42);
    assert.equal(resolvePaymentsLimit({}), 1000);
    assert.equal(resolvePaymentsLimit({ PAYMENTS_LIMIT: '' }), 1000);
  });
});

describe('resolveDataDir', () => {
  it('uses SWITCHYARD_DATA_DIR, else examples/shop/.data', () => {
    assert.equal(resolveDataDir({ SWITCHYARD_DATA_DIR: '/tmp/x' }), '/tmp/x');
    assert.equal(resolveDataDir({}), defaultDataDir);
    assert.match(fileURLToPath(defaultDataDir), /examples\/shop\/\.data\/$/);
  });
});

describe('resolveInstanceId', () => {
  it('uses SWITCHYARD_INSTANCE_ID, else <service>-<pid>', () => {
    assert.equal(resolveInstanceId('inventory', { SWITCHYARD_INSTANCE_ID: 'inventory-2' }), 'inventory-2');
    assert.equal(resolveInstanceId('inventory', {}, 4242), 'inventory-4242');
  });
});

describe('resolveNodeHandlerOptions', () => {
  it('names a bad field and fills defaults', () => {
    assert.throws(() => resolveNodeHandlerOptions({ maxBodyBytes: -1 }), /toNodeHandler\.maxBodyBytes/);
    assert.throws(() => resolveNodeHandlerOptions({ maxBodyByte: 1 }), /did you mean "maxBodyBytes"/);
    assert.deepEqual(resolveNodeHandlerOptions({}), { maxBodyBytes: 1_048_576, responseHeaders: {} });
  });
});
