import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { consumerName } from './internal/consumer-name.ts';
import { resolveNatsEventBusOptions } from './options.ts';

it('resolves the documented defaults, durations in milliseconds', () => {
  const o = resolveNatsEventBusOptions();
  assert.deepEqual(o.servers, ['nats://127.0.0.1:4222']);
  assert.equal(o.stream, 'SWITCHYARD');
  assert.equal(o.subjectPrefix, 'sy');
  assert.equal(o.connectTimeoutMs, 5000);
  assert.equal(o.requestTimeoutMs, 5000);
  assert.equal(o.reconnectDelayMs, 1000);
  assert.equal(o.maxAgeMs, 7 * 24 * 3_600_000);
  assert.equal(o.duplicateWindowMs, 120_000);
  assert.equal(o.storage, 'file');
  assert.equal(o.replicas, 1);
  assert.ok(Object.isFrozen(o) && Object.isFrozen(o.servers));
});

it('accepts a list of servers and duration strings', () => {
  const o = resolveNatsEventBusOptions({
    servers: ['nats://a:4222', 'tls://b:4222'],
    maxAge: '24h',
    requestTimeout: '250ms',
  });
  assert.deepEqual(o.servers, ['nats://a:4222', 'tls://b:4222']);
  assert.equal(o.maxAgeMs, 86_400_000);
  assert.equal(o.requestTimeoutMs, 250);
});

it('rejects bad fields with SY_CONFIG_INVALID naming each one', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ servers: 'http://x:4222' }, 'nats.servers'],
    [{ servers: [] }, 'nats.servers'],
    [{ stream: 'has.dot' }, 'nats.stream'],
    [{ subjectPrefix: 'sy.>' }, 'nats.subjectPrefix'],
    [{ requestTimeout: 0 }, 'nats.requestTimeout'],
    [{ storage: 'disk' }, 'nats.storage'],
    [{ replicas: 7 }, 'nats.replicas'],
    [{ strem: 'X' }, 'did you mean "stream"'],
  ];
  for (const [input, text] of cases) {
    assert.throws(
      () => resolveNatsEventBusOptions(input as never),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes(text),
      `${JSON.stringify(input)} -> ${text}`,
    );
  }
});

it('names a durable consumer readably, without the characters NATS forbids, and keeps look-alike pairs apart', () => {
  const a = consumerName('billing', 'order.approved', 'sy');
  assert.match(a, /^billing__order_approved-[0-9a-f]{16}$/);
  assert.notEqual(consumerName('billing.order', 'approved', 'sy'), consumerName('billing', 'order.approved', 'sy'));
  assert.notEqual(consumerName('a_b', 'c', 'sy'), consumerName('a', 'b_c', 'sy'));
  const long = consumerName('g'.repeat(200), 't'.repeat(200), 'sy');
  assert.ok(long.length <= 81, `${long.length} characters`);
  assert.doesNotMatch(long, /[.*> ]/);
  assert.notEqual(consumerName('g', 't', 'sy'), consumerName('g', 't', 'shop'), 'per subject prefix');
});
