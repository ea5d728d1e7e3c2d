import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { createRegistry } from './registry.ts';
import type { CheckProbe, CheckResult, CheckRunner, ServiceRegistration } from './types.ts';

/** A runner whose probes settle only when the test says so. */
function scriptedRunner() {
  const calls: { probe: CheckProbe; signal: AbortSignal; settle: (result: CheckResult) => void }[] = [];
  const runner: CheckRunner = (probe, signal) =>
    new Promise<CheckResult>((resolve) => {
      calls.push({ probe, signal, settle: resolve });
    });
  return { runner, calls };
}

/** Lets settled probe promises deliver their results. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function setup() {
  const clock = new ManualClock(0);
  const scripted = scriptedRunner();
  const registry = createRegistry({ clock, checkRunner: scripted.runner });
  return { clock, registry, calls: scripted.calls };
}

function assertInvalid(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSwitchyardError(err, 'SY_DISCOVERY_INVALID_REGISTRATION'), String(err));
    for (const fragment of fragments) assert.ok(err.message.includes(fragment), `${err.message} lacks ${fragment}`);
    return true;
  });
}

describe('registration validation', () => {
  test('a missing or empty Name is refused, naming the field', () => {
    const { registry } = setup();
    assertInvalid(() => registry.register({} as ServiceRegistration), 'Name', 'Missing service name');
    assertInvalid(() => registry.register({ Name: '' }), 'Name', 'Missing service name');
    assert.equal(registry.index, 1, 'a refused registration changes nothing');
  });

  test('a bad Port is refused with the bad value', () => {
    const { registry } = setup();
    assertInvalid(() => registry.register({ Name: 'orders', Port: 70_000 }), 'Port', '70000');
    assertInvalid(() => registry.register({ Name: 'orders', Port: 80.5 }), 'Port');
    assertInvalid(() => registry.register({ Name: 'orders', Port: '80' as unknown as number }), 'Port', 'string');
    assertInvalid(() => registry.register({ Name: 'orders', Meta: { 'a b': 'x' } }), 'Meta', '"a b"');
  });

  test('checks must name one probe, with an Interval for HTTP and TCP', () => {
    const { registry } = setup();
    assertInvalid(() => registry.register({ Name: 'a', Check: {} }), 'Check', 'must set one of');
    assertInvalid(() => registry.register({ Name: 'a', Check: { HTTP: 'http://127.0.0.1:1/' } }), 'Check.Interval');
    assertInvalid(() => registry.register({ Name: 'a', Check: { TCP: 'nohost', Interval: '1s' } }), 'Check.TCP');
    assertInvalid(() => registry.register({ Name: 'a', Check: { HTTP: 'ftp://x/', Interval: '1s' } }), 'Check.HTTP');
    assertInvalid(() => registry.register({ Name: 'a', Check: { TTL: 'soon' } }), 'Check.TTL', '"soon"');
    assertInvalid(() => registry.register({ Name: 'a', Checks: [{ TTL: '1s' }, { TTL: '0s' }] }), 'Checks[1].TTL');
    assertInvalid(
      () => registry.register({ Name: 'a', Check: { GRPC: '127.0.0.1:1', Interval: '1s' } as never }),
      'Check.GRPC',
      'not supported',
    );
    assertInvalid(
      () =>
        registry.register({
          Name: 'a',
          Checks: [
            { CheckID: 'x', TTL: '1s' },
            { CheckID: 'x', TTL: '1s' },
          ],
        }),
      'duplicate CheckID',
    );
  });

  test('field names match case-insensitively and null means absent, as in Consul', () => {
    const { registry } = setup();
    const input = {
      name: 'orders',
      id: 'orders-1',
      port: 8080,
      tags: null,
      check: { ttl: '30s', status: 'passing', deregister_critical_service_after: 60e9 },
    };
    registry.register(input as unknown as ServiceRegistration);
    const check = registry.check('service:orders-1');
    assert.equal(check?.Status, 'passing');
    assert.equal(check?.Definition.TTL, '30s');
    assert.equal(check?.Definition.DeregisterCriticalServiceAfter, '1m0s', 'a JSON number is nanoseconds');
    assert.deepEqual(registry.service('orders-1')?.Tags, []);
  });
});

describe('registry model', () => {
  test('the index starts at 1 and grows by one per change, never on a no-op', async () => {
    const { registry, calls } = setup();
    assert.equal(registry.index, 1);
    const service = registry.register({ Name: 'orders', ID: 'o1', Check: { HTTP: 'http://h:1/', Interval: '10s' } });
    assert.equal(registry.index, 2);
    assert.equal(service.CreateIndex, 2);
    assert.equal(registry.check('service:o1')?.ModifyIndex, 2);

    calls[0]?.settle({ status: 'critical', output: 'still down' });
    await flush();
    assert.equal(registry.index, 2, 'an unchanged status is not a change');
    assert.equal(registry.check('service:o1')?.Output, 'still down', 'the output is still recorded');

    const seen: number[] = [];
    registry.onChange((index) => seen.push(index));
    registry.register({ Name: 'orders', ID: 'o2' });
    assert.equal(registry.deregister('missing'), false);
    assert.equal(registry.deregister('o2'), true);
    assert.deepEqual(seen, [3, 4]);
    assert.equal(registry.index, 4);
  });

  test('check IDs default to service:<id> and service:<id>:<n>, checks start critical', () => {
    const { registry } = setup();
    registry.register({ Name: 'one', Check: { TTL: '10s' } });
    registry.register({ Name: 'two', ID: 'two-1', Check: { TTL: '10s' }, Checks: [{ TTL: '10s' }] });
    registry.register({
      Name: 'three',
      Checks: [{ TTL: '10s' }, { CheckID: 'custom', TTL: '10s', Status: 'warning' }],
    });
    assert.deepEqual(
      registry.checks().map((c) => [c.CheckID, c.Status, c.ServiceID]),
      [
        ['custom', 'warning', 'three'],
        ['service:one', 'critical', 'one'],
        ['service:three:1', 'critical', 'three'],
        ['service:two-1:1', 'critical', 'two-1'],
        ['service:two-1:2', 'critical', 'two-1'],
      ],
    );
    assert.equal(registry.check('service:one')?.Name, "Service 'one' check");
    assert.deepEqual(registry.service('one')?.Weights, { Passing: 1, Warning: 1 });
  });

  test('HTTP checks run at once, then every Interval after the previous probe', async () => {
    const { registry, calls, clock } = setup();
    registry.register({ Name: 'orders', Check: { HTTP: 'http://h:1/health', Interval: '5s', Timeout: '2s' } });
    assert.equal(calls.length, 1, 'the first probe starts during register()');
    assert.equal(calls[0]?.probe.timeoutMs, 2000);
    assert.equal(registry.instances('orders')[0]?.Status, 'critical');

    calls[0]?.settle({ status: 'passing', output: 'HTTP GET http://h:1/health: 200 OK Output: ok' });
    await flush();
    assert.equal(registry.instances('orders', { passing: true }).length, 1);

    clock.advance(4999);
    assert.equal(calls.length, 1);
    clock.advance(1);
    assert.equal(calls.length, 2);
    calls[1]?.settle({ status: 'warning', output: '429' });
    await flush();
    const [entry] = registry.instances('orders');
    assert.equal(entry?.Status, 'warning');
    assert.equal(registry.instances('orders', { passing: true }).length, 0, 'passing=true leaves warning out');
  });

  test('a TTL check turns critical when not refreshed within its TTL', () => {
    const { registry, clock } = setup();
    registry.register({ Name: 'orders', Check: { TTL: '10s', Status: 'passing' } });
    clock.advance(9999);
    assert.equal(registry.check('service:orders')?.Status, 'passing');
    const before = registry.index;
    registry.updateTtl('service:orders', 'passing', 'still here');
    clock.advance(9999);
    assert.equal(registry.check('service:orders')?.Status, 'passing', 'the refresh restarted the TTL');
    assert.equal(registry.index, before, 'a refresh with the same status is not a change');
    clock.advance(1);
    const check = registry.check('service:orders');
    assert.equal(check?.Status, 'critical');
    assert.equal(check?.Output, 'TTL expired');
    assert.equal(registry.index, before + 1);
    registry.updateTtl('service:orders', 'warning', 'degraded');
    assert.equal(registry.check('service:orders')?.Output, 'degraded');
  });

  test('updateTtl refuses unknown and non-TTL checks', () => {
    const { registry } = setup();
    registry.register({ Name: 'web', Check: { TCP: '127.0.0.1:80', Interval: '10s' } });
    assert.throws(
      () => registry.updateTtl('nope', 'passing'),
      (err) => isSwitchyardError(err, 'SY_DISCOVERY_CHECK_NOT_FOUND'),
    );
    assert.throws(
      () => registry.updateTtl('service:web', 'passing'),
      (err) => isSwitchyardError(err, 'SY_DISCOVERY_CHECK_NOT_TTL'),
    );
  });

  test('an instance critical for longer than DeregisterCriticalServiceAfter is removed', () => {
    const { registry, clock } = setup();
    registry.register({ Name: 'orders', ID: 'o1', Check: { TTL: '5s', DeregisterCriticalServiceAfter: '1m' } });
    clock.advance(30_000);
    registry.updateTtl('service:o1', 'passing');
    clock.advance(59_000);
    assert.ok(registry.service('o1'), 'passing in between reset the clock');
    // Critical since the TTL ran out at 35 s; removed one minute later.
    clock.advance(1000 + 5000);
    assert.equal(registry.service('o1'), undefined);
    assert.equal(registry.check('service:o1'), undefined);
    assert.equal(clock.pending, 0, 'no timer of the removed instance is left');
  });

  test('re-registering replaces the instance, keeping CreateIndex and check state', async () => {
    const { registry, calls } = setup();
    registry.register({ Name: 'orders', ID: 'o1', Port: 1, Check: { HTTP: 'http://h:1/', Interval: '10s' } });
    calls[0]?.settle({ status: 'passing', output: 'ok' });
    await flush();
    const updated = registry.register({
      Name: 'orders',
      ID: 'o1',
      Port: 2,
      Tags: ['v2'],
      Check: { HTTP: 'http://h:2/', Interval: '10s' },
    });
    assert.equal(updated.Port, 2);
    assert.equal(updated.CreateIndex, 2);
    assert.equal(updated.ModifyIndex, registry.index);
    assert.equal(registry.check('service:o1')?.Status, 'passing', 'no flap to critical on re-registration');
    assert.ok(calls[0]?.signal.aborted, 'the old probe was stopped');
    assert.equal(calls.length, 2, 'the new definition is probed at once');
    assert.equal(registry.services().length, 1);
  });

  test('a CheckID owned by another instance is refused', () => {
    const { registry } = setup();
    registry.register({ Name: 'a', Check: { CheckID: 'shared', TTL: '5s' } });
    assertInvalid(() => registry.register({ Name: 'b', Check: { CheckID: 'shared', TTL: '5s' } }), 'CheckID', '"a"');
  });

  test('instances filter by tags (all required) and aggregate the worst status', () => {
    const { registry } = setup();
    registry.register({ Name: 'orders', ID: 'o2', Tags: ['v1', 'eu'], Check: { TTL: '5s', Status: 'passing' } });
    registry.register({
      Name: 'orders',
      ID: 'o1',
      Tags: ['v1'],
      Checks: [
        { TTL: '5s', Status: 'passing' },
        { TTL: '5s', Status: 'warning' },
      ],
    });
    registry.register({ Name: 'users', ID: 'u1' });
    assert.deepEqual(
      registry.instances('orders').map((e) => [e.Service.ID, e.Status]),
      [
        ['o1', 'warning'],
        ['o2', 'passing'],
      ],
    );
    assert.deepEqual(
      registry.instances('orders', { tags: ['v1', 'eu'] }).map((e) => e.Service.ID),
      ['o2'],
    );
    assert.equal(registry.instances('users')[0]?.Status, 'passing', 'no checks means passing');
    assert.deepEqual(registry.serviceNames(), { orders: ['v1', 'eu'], users: [] });
    assert.ok(registry.serviceIndex('orders') < registry.serviceIndex('users'));
    assert.equal(registry.serviceIndex('never-seen'), 1);
    assert.ok(Object.isFrozen(registry.instances('orders')[0]?.Service.Tags));
  });
});

describe('waitForChange', () => {
  test('resolves at once when the index is already past afterIndex', async () => {
    const { registry } = setup();
    registry.register({ Name: 'a' });
    assert.equal(await registry.waitForChange(1, 60_000), 2);
  });

  test('resolves with the new index on a change', async () => {
    const { registry, clock } = setup();
    const waiting = registry.waitForChange(registry.index, 60_000);
    registry.register({ Name: 'a' });
    assert.equal(await waiting, 2);
    assert.equal(clock.pending, 0, 'the wait timer was cancelled');
  });

  test('resolves with the unchanged index when the wait elapses', async () => {
    const { registry, clock } = setup();
    let result: number | undefined;
    const waiting = registry.waitForChange(1, 5000).then((index) => {
      result = index;
    });
    clock.advance(4999);
    await flush();
    assert.equal(result, undefined);
    clock.advance(1);
    await waiting;
    assert.equal(result, 1);
  });

  test('rejects with SY_CANCELLED when the signal aborts, and close releases waiters', async () => {
    const { registry } = setup();
    const controller = new AbortController();
    const aborted = registry.waitForChange(1, 60_000, controller.signal);
    controller.abort(new Error('client left'));
    await assert.rejects(aborted, (err) => isSwitchyardError(err, 'SY_CANCELLED'));

    const released = registry.waitForChange(1, 60_000);
    await registry.close();
    assert.equal(await released, 1);
  });
});

describe('lifecycle', () => {
  test('close stops every timer and probe, is idempotent, and refuses later changes', async () => {
    const { registry, clock, calls } = setup();
    registry.register({ Name: 'a', Check: { TTL: '5s', DeregisterCriticalServiceAfter: '1m' } });
    registry.register({ Name: 'b', Check: { HTTP: 'http://h:1/', Interval: '1s' } });
    calls[0]?.settle({ status: 'passing', output: '' });
    await flush();
    assert.ok(clock.pending > 0);
    await registry.close();
    await registry[Symbol.asyncDispose]();
    assert.equal(clock.pending, 0);
    assert.ok(calls.every((call) => call.signal.aborted));
    assert.throws(
      () => registry.register({ Name: 'c' }),
      (err) => isSwitchyardError(err, 'SY_DISCOVERY_CLOSED'),
    );
    assert.ok(registry.closed);
  });

  test('a listener that throws does not stop the others', () => {
    const { registry } = setup();
    const seen: number[] = [];
    const warnings: string[] = [];
    const original = process.emitWarning;
    // Capture instead of printing, so the warning can be asserted.
    process.emitWarning = ((warning: string | Error) => {
      warnings.push(typeof warning === 'string' ? warning : warning.message);
    }) as typeof process.emitWarning;
    try {
      const bad = registry.onChange(() => {
        throw new Error('listener bug');
      });
      using good = registry.onChange((index) => seen.push(index));
      registry.register({ Name: 'a' });
      bad.dispose();
      bad.dispose();
      registry.register({ Name: 'b' });
      assert.deepEqual(seen, [2, 3]);
      assert.deepEqual(warnings, ['listener bug']);
      assert.ok(good);
    } finally {
      process.emitWarning = original;
    }
  });
});
