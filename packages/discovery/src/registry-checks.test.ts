import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { createRegistry } from './registry.ts';
import type { CheckRegistration, CheckResult, CheckRunner } from './types.ts';

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function setup() {
  const clock = new ManualClock(0);
  const pending: ((result: CheckResult) => void)[] = [];
  const runner: CheckRunner = () => new Promise((resolve) => pending.push(resolve));
  const registry = createRegistry({ clock, checkRunner: runner });
  return { clock, registry, pending };
}

describe('standalone checks (agent/check/register)', () => {
  test('a check with ServiceID joins that instance and its health; deregistering it restores health', () => {
    const { registry } = setup();
    registry.register({ Name: 'orders', ID: 'orders-1', Check: { TTL: '30s', Status: 'passing' } });
    const before = registry.index;
    const check = registry.registerCheck({ Name: 'disk', ServiceID: 'orders-1', TTL: '10s' });
    assert.equal(check.CheckID, 'disk', 'ID defaults to Name');
    assert.equal(check.ServiceName, 'orders');
    assert.equal(check.Status, 'critical');
    assert.ok(registry.index > before);
    assert.equal(registry.serviceIndex('orders'), registry.index, 'the change wakes watchers of orders');
    assert.deepEqual(registry.instances('orders', { passing: true }), []);
    assert.deepEqual(
      registry.serviceChecks('orders').map((c) => c.CheckID),
      ['disk', 'service:orders-1'],
    );

    assert.equal(registry.deregisterCheck('disk'), true);
    assert.equal(registry.deregisterCheck('disk'), false);
    assert.equal(registry.instances('orders', { passing: true }).length, 1);
  });

  test('a node check counts towards every instance, as in Consul', () => {
    const { registry } = setup();
    registry.register({ Name: 'a', Check: { TTL: '30s', Status: 'passing' } });
    registry.register({ Name: 'b', Check: { TTL: '30s', Status: 'passing' } });
    registry.registerCheck({ Name: 'maintenance', ID: 'node-maint', TTL: '1m', Status: 'warning' });
    assert.equal(registry.instances('a')[0]?.Status, 'warning');
    assert.equal(registry.instances('b')[0]?.Status, 'warning');
    assert.equal(registry.serviceIndex('a'), registry.index);
    assert.equal(registry.serviceIndex('b'), registry.index);
    assert.equal(registry.check('node-maint')?.ServiceID, '');
    registry.updateTtl('node-maint', 'passing');
    assert.equal(registry.instances('b', { passing: true }).length, 1);
  });

  test('deregistering the instance removes its standalone checks', () => {
    const { registry } = setup();
    registry.register({ Name: 'orders', ID: 'orders-1' });
    registry.registerCheck({ Name: 'disk', ServiceID: 'orders-1', TTL: '10s' });
    registry.deregister('orders-1');
    assert.equal(registry.check('disk'), undefined);
  });

  test('HTTP standalone checks run at once and then every Interval', async () => {
    const { registry, clock, pending } = setup();
    registry.register({ Name: 'orders', ID: 'orders-1' });
    registry.registerCheck({ Name: 'http', ServiceID: 'orders-1', HTTP: 'http://127.0.0.1:1/', Interval: '5s' });
    assert.equal(pending.length, 1);
    pending[0]?.({ status: 'passing', output: 'ok' });
    await flush();
    assert.equal(registry.check('http')?.Status, 'passing');
    clock.advance(5000);
    assert.equal(pending.length, 2);
  });

  test('re-registering a check keeps its status unless Status is given', () => {
    const { registry } = setup();
    registry.registerCheck({ Name: 'n', TTL: '10s', Status: 'passing' });
    registry.registerCheck({ Name: 'n', TTL: '20s' });
    assert.equal(registry.check('n')?.Status, 'passing');
    assert.equal(registry.check('n')?.Definition.TTL, '20s');
  });

  test('invalid check registrations are refused, naming the field, and change nothing', () => {
    const { registry } = setup();
    const cases: [unknown, string][] = [
      [{ TTL: '10s' }, 'Name: Missing check name'],
      [{ Name: 'x' }, 'must set one of'],
      [{ Name: 'x', TTL: 'soon' }, 'TTL'],
      [{ Name: 'x', HTTP: 'http://127.0.0.1/' }, 'Interval'],
      [{ Name: 'x', GRPC: '127.0.0.1:1', Interval: '1s' }, 'GRPC checks are not supported'],
      [{ Name: 'x', ServiceID: 'ghost', TTL: '1s' }, 'ServiceID: "ghost" does not exist'],
      ['nope', 'expected a JSON object'],
    ];
    for (const [input, fragment] of cases) {
      assert.throws(
        () => registry.registerCheck(input as CheckRegistration),
        (err: unknown) => isSwitchyardError(err, 'SY_DISCOVERY_INVALID_REGISTRATION') && err.message.includes(fragment),
        fragment,
      );
    }
    assert.equal(registry.index, 1);
    assert.deepEqual(registry.checks(), []);
  });

  test('a service cannot take over a check ID owned by a node check', () => {
    const { registry } = setup();
    registry.registerCheck({ Name: 'shared', TTL: '10s' });
    assert.throws(
      () => registry.register({ Name: 'a', Check: { CheckID: 'shared', TTL: '1s' } }),
      /already belongs to a node check/,
    );
  });
});
