import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import type { ConsumeMessage } from 'amqplib';
import { decodeMessage, encodeMessage, encodePayload } from './internal/codec.ts';
import { queueNames } from './internal/queue-names.ts';
import { resolveRabbitMqEventBusOptions } from './options.ts';

it('resolves the documented defaults, durations in milliseconds', () => {
  const o = resolveRabbitMqEventBusOptions();
  assert.equal(o.url, 'amqp://guest:guest@127.0.0.1:5672');
  assert.equal(o.exchange, 'switchyard');
  assert.equal(o.queueType, 'quorum');
  assert.equal(o.connectTimeoutMs, 5000);
  assert.equal(o.publishTimeoutMs, 5000);
  assert.equal(o.heartbeatMs, 10_000);
  assert.equal(o.reconnectDelayMs, 100);
  assert.equal(o.maxReconnectDelayMs, 5000);
  assert.ok(Object.isFrozen(o));
});

it('rejects bad fields with SY_CONFIG_INVALID naming each one', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ url: 'redis://x' }, 'rabbitmq.url'],
    [{ exchange: 'a b' }, 'rabbitmq.exchange'],
    [{ exchange: '' }, 'rabbitmq.exchange'],
    [{ queueType: 'stream' }, 'rabbitmq.queueType'],
    [{ publishTimeout: 0 }, 'rabbitmq.publishTimeout'],
    [{ exchang: 'x' }, 'did you mean "exchange"'],
  ];
  for (const [input, text] of cases) {
    assert.throws(
      () => resolveRabbitMqEventBusOptions(input as never),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes(text),
      `${JSON.stringify(input)} -> ${text}`,
    );
  }
});

it('names a group queue <exchange>:<group>:<topic>, look-alike pairs apart, long names cut with a hash', () => {
  assert.deepEqual(queueNames('shop', 'billing', 'order.approved'), {
    work: 'shop:billing:order.approved',
    retry: 'shop:billing:order.approved:retry',
  });
  assert.notEqual(queueNames('x', 'a.b', 'c').work, queueNames('x', 'a', 'b.c').work);
  const long = queueNames('x', 'g'.repeat(200), 't'.repeat(200));
  const other = queueNames('x', 'g'.repeat(200), `${'t'.repeat(199)}u`);
  assert.ok(Buffer.byteLength(long.retry) <= 255);
  assert.notEqual(long.work, other.work);
});

/** A delivery as amqplib hands it over. */
function delivery(body: Buffer, properties: Record<string, unknown>, redelivered = false): ConsumeMessage {
  return {
    content: body,
    fields: { deliveryTag: 1, redelivered, exchange: 'shop', routingKey: 'order.approved', consumerTag: 'c' },
    properties: { headers: {}, ...properties },
  } as unknown as ConsumeMessage;
}

it('round-trips a message: id, payload, headers and publish time; bus and broker headers stripped', () => {
  const { body, properties } = encodeMessage(
    { id: 'm-1', headers: { traceparent: '00-a-b-01', 'sy-saga-id': 's-1' }, publishedAt: 1_700_000_000_123 },
    encodePayload({ ok: true }),
  );
  const headers = {
    ...(properties.headers as Record<string, unknown>),
    'x-death': [{ count: 1 }],
    'x-first-death-queue': 'q',
  };
  const decoded = decodeMessage(delivery(body, { ...properties, headers }), 'order.approved', 'billing');
  assert.ok(decoded.ok);
  assert.equal(decoded.delivery.id, 'm-1');
  assert.deepEqual(decoded.delivery.payload, { ok: true });
  assert.deepEqual(decoded.delivery.headers, { traceparent: '00-a-b-01', 'sy-saga-id': 's-1' });
  assert.equal(decoded.delivery.publishedAt, 1_700_000_000_123);
  assert.equal(decoded.delivery.attempt, 1);
  assert.equal(properties.persistent, true);
  assert.equal(properties.messageId, 'm-1');
});

it('counts attempts: the republished attempt plus the broker count of failed deliveries', () => {
  const body = encodePayload(1);
  const attempt = (props: Record<string, unknown>, redelivered = false) => {
    const d = decodeMessage(delivery(body, props, redelivered), 't', 'g');
    return d.ok ? d.delivery.attempt : -1;
  };
  assert.equal(attempt({}), 1);
  assert.equal(attempt({}, true), 2, 'classic queue: redelivered once at least');
  assert.equal(attempt({ headers: { 'x-delivery-count': 2 } }, true), 3, 'quorum queue: exact count');
  assert.equal(attempt({ headers: { 'sy-attempt': '3' } }), 3, 'a retried copy');
  assert.equal(attempt({ headers: { 'sy-attempt': '3', 'x-delivery-count': 1 } }, true), 4);
});

it('reports a body that is not JSON, keeping id and headers for the dead letter', () => {
  const decoded = decodeMessage(delivery(Buffer.from('{nope'), { messageId: 'raw', headers: { a: 'b' } }), 't', 'g');
  assert.equal(decoded.ok, false);
  if (decoded.ok) return;
  assert.equal(decoded.id, 'raw');
  assert.deepEqual(decoded.headers, { a: 'b' });
  assert.match(decoded.error.message, /not UTF-8 JSON/);
});
