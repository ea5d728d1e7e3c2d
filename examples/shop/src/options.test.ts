import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSwitchyardError } from '@switchyard/core';
import {
  defaultDataDir,
  resolveDataDir,
  resolveInstanceId,
  resolveNodeHandlerOptions,
  resolveOrdersSettings,
  resolvePaymentsLimit,
  resolveShopTelemetry,
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

describe('resolveOrdersSettings', () => {
  const registry = { SWITCHYARD_REGISTRY_URL: 'http://127.0.0.1:8500' };

  it('fills the defaults and reads each variable', () => {
    assert.deepEqual(resolveOrdersSettings(registry), {
      registryUrl: 'http://127.0.0.1:8500',
      staticUrls: {},
      leaseDuration: '10s',
      pollInterval: '1s',
      responseWait: '2s',
      stepTimeout: '5s',
      publicPath: '/api/orders',
    });
    const set = resolveOrdersSettings({
      ...registry,
      ORDERS_SAGA_LEASE: '2s',
      ORDERS_SAGA_POLL: '250ms',
      ORDERS_RESPONSE_WAIT: ' 0ms ',
      ORDERS_STEP_TIMEOUT: '',
      ORDERS_PUBLIC_PATH: '/shop/orders',
    });
    assert.deepEqual(
      [set.leaseDuration, set.pollInterval, set.responseWait, set.stepTimeout, set.publicPath],
      ['2s', '250ms', '0ms', '5s', '/shop/orders'],
    );
  });

  it('names a variable that is not a duration', () => {
    assert.throws(
      () => resolveOrdersSettings({ ...registry, ORDERS_SAGA_LEASE: 'soon' }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        /ORDERS_SAGA_LEASE: expected a duration such as "10s" or "500ms", got "soon"/.test(err.message),
    );
  });

  it('runs without a registry only with both fixed URLs', () => {
    const urls = { SHOP_INVENTORY_URL: 'http://127.0.0.1:3002', SHOP_PAYMENTS_URL: 'http://127.0.0.1:3003' };
    assert.deepEqual(resolveOrdersSettings(urls).staticUrls, {
      inventory: 'http://127.0.0.1:3002',
      payments: 'http://127.0.0.1:3003',
    });
    assert.throws(
      () => resolveOrdersSettings({ SHOP_INVENTORY_URL: urls.SHOP_INVENTORY_URL }),
      /SWITCHYARD_REGISTRY_URL: orders calls inventory and payments: set the registry URL, or both SHOP_INVENTORY_URL and SHOP_PAYMENTS_URL/,
    );
  });
});

describe('resolveShopTelemetry', () => {
  it('is off without an OTLP endpoint, on with one (switchyard up passes OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
    assert.equal(resolveShopTelemetry({}), undefined);
    assert.equal(resolveShopTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }), undefined);
    assert.deepEqual(resolveShopTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), {
      otlp: true,
      scheduledDelayMs: undefined,
    });
    assert.deepEqual(resolveShopTelemetry({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }), {
      otlp: true,
      scheduledDelayMs: undefined,
    });
  });

  it('follows SHOP_TELEMETRY when set, and reads OTEL_BSP_SCHEDULE_DELAY', () => {
    assert.deepEqual(resolveShopTelemetry({ SHOP_TELEMETRY: 'on' }), { otlp: false, scheduledDelayMs: undefined });
    assert.equal(
      resolveShopTelemetry({ SHOP_TELEMETRY: 'OFF', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
      undefined,
    );
    assert.deepEqual(
      resolveShopTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_BSP_SCHEDULE_DELAY: '100' }),
      { otlp: true, scheduledDelayMs: 100 },
    );
  });

  it('refuses a bad SHOP_TELEMETRY or OTEL_BSP_SCHEDULE_DELAY, naming the variable and the value', () => {
    assert.throws(
      () => resolveShopTelemetry({ SHOP_TELEMETRY: 'yes' }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        err.message.includes('SHOP_TELEMETRY: expected "on" or "off", got "yes"'),
    );
    for (const raw of ['soon', '-1', '2.5']) {
      assert.throws(
        () => resolveShopTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_BSP_SCHEDULE_DELAY: raw }),
        (err) =>
          isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
          err.message.includes(
            `OTEL_BSP_SCHEDULE_DELAY: expected an integer number of milliseconds >= 0, got "${raw}"`,
          ),
        raw,
      );
    }
  });
});
