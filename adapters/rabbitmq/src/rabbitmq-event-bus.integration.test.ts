import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import type { Delivery, EventBus, SubscribeOptions } from '@switchyard/saga';
import { eventBusContract, startTcpProxy } from '@switchyard/saga/testing';
import { connect } from 'amqplib';
import { queueNames } from './internal/queue-names.ts';
import { deleteTopology, randomExchange, requireRabbitMq } from './internal/require-rabbitmq.ts';

import type { RabbitMqEventBusOptions } from './options.ts';
import { createRabbitMqEventBus, type RabbitMqEventBus } from './rabbitmq-event-bus.ts';

let rabbitUp: Promise<void> | undefined;
/** Checked once per file; every test that needs RabbitMQ fails with how to start it. */
const needRabbit = () => {
  rabbitUp ??= requireRabbitMq();
  return rabbitUp;
};

/**
 * Buses whose queues are known, so the test can delete them: AMQP cannot list queues, so every
 * subscribe is recorded and the queue names computed the way the bus does.
 */
class Topology {
  readonly exchange: string;
  readonly queues = new Set<string>();
  readonly buses: EventBus[] = [];

  constructor(label: string) {
    this.exchange = randomExchange(label);
  }

  async open(extra: RabbitMqEventBusOptions = {}): Promise<RabbitMqEventBus> {
    const bus = await createRabbitMqEventBus({ exchange: this.exchange, ...extra });
    this.buses.push(bus);
    const queues = this.queues;
    const exchange = this.exchange;
    return new Proxy(bus, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === 'subscribe') {
          return (topic: string, handler: never, options: SubscribeOptions) => {
            if (typeof options?.group === 'string') {
              const names = queueNames(exchange, options.group, topic);
              queues.add(names.work).add(names.retry);
            }
            return target.subscribe(topic, handler, options);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  async cleanup(): Promise<void> {
    for (const bus of this.buses) await bus.close();
    await deleteTopology(this.exchange, [...this.queues]);
  }
}

eventBusContract('rabbitmq', async () => {
  await needRabbit();
  const topology = new Topology('contract');
  const bus = await topology.open();
  return {
    bus,
    topicPrefix: 'orders',
    second: () => topology.open(),
    cleanup: () => topology.cleanup(),
  };
});

async function waitUntil(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('createRabbitMqEventBus against RabbitMQ', () => {
  const topology = new Topology('bus');

  before(() => needRabbit());
  after(() => topology.cleanup());

  it('fails with SY_RABBITMQ_CONNECT_FAILED naming host:port when nothing listens, within connectTimeout', async () => {
    const port = await closedPort();
    const started = Date.now();
    await assert.rejects(
      createRabbitMqEventBus({ url: `amqp://guest:guest@127.0.0.1:${port}`, connectTimeout: '2s' }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_RABBITMQ_CONNECT_FAILED') &&
        err.message.includes(`127.0.0.1:${port}`) &&
        err.retryable,
    );
    assert.ok(Date.now() - started < 3000, `failed after ${Date.now() - started}ms`);
  });

  it('fails with SY_RABBITMQ_CONNECT_FAILED on bad credentials, without the password in the message', async () => {
    await assert.rejects(
      createRabbitMqEventBus({ url: 'amqp://guest:not-the-password@127.0.0.1:5672' }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_RABBITMQ_CONNECT_FAILED') &&
        err.message.includes('ACCESS_REFUSED') &&
        !err.message.includes('not-the-password'),
    );
  });

  it('rejects bad options with SY_CONFIG_INVALID naming the field', async () => {
    await assert.rejects(
      createRabbitMqEventBus({ url: 'http://x' }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('rabbitmq.url'),
    );
    await assert.rejects(
      createRabbitMqEventBus({ queueType: 'stream' as 'quorum' }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('rabbitmq.queueType'),
    );
  });

  it('declares a durable quorum queue per group bound to the topic, and a retry queue back to it', async () => {
    const bus = await topology.open();
    await bus.subscribe('layout.topic', async () => {}, { group: 'inspect' });
    const names = queueNames(topology.exchange, 'inspect', 'layout.topic');
    assert.equal(names.work, `${topology.exchange}:inspect:layout.topic`);
    const model = await connect('amqp://guest:guest@127.0.0.1:5672');
    try {
      const channel = await model.createChannel();
      // Redeclaring with other arguments fails (406) unless the queue is exactly what the bus says.
      await channel.assertQueue(names.work, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await channel.assertQueue(names.retry, {
        durable: true,
        arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': names.work },
      });
      await channel.checkExchange(topology.exchange);
      await channel.close();
    } finally {
      await model.close();
    }
  });

  it('reports a group queue declared with another queue type as SY_RABBITMQ_TOPOLOGY_CONFLICT', async () => {
    const quorum = await topology.open();
    await (await quorum.subscribe('conflict.topic', async () => {}, { group: 'g' })).close();
    const classic = await topology.open({ queueType: 'classic' });
    await assert.rejects(
      classic.subscribe('conflict.topic', async () => {}, { group: 'g' }),
      (err: unknown) => isSwitchyardError(err, 'SY_RABBITMQ_TOPOLOGY_CONFLICT'),
    );
  });

  it('redelivers with the configured exponential backoff (retry queue with per-message expiration)', async () => {
    const bus = await topology.open();
    const seen: number[] = [];
    await bus.subscribe(
      'backoff.timing',
      async (d) => {
        seen.push(Date.now());
        if (d.attempt < 4) throw new Error('not yet');
      },
      { group: 'timing', maxDeliveries: 4, backoff: { initial: '100ms', factor: 2, max: '1s', jitter: 'none' } },
    );
    await bus.publish('backoff.timing', 1);
    await waitUntil(() => seen.length === 4, 'four deliveries');
    const gaps = seen.slice(1).map((t, i) => t - (seen[i] ?? 0));
    for (const [i, expected] of [100, 200, 400].entries()) {
      const gap = gaps[i] ?? 0;
      assert.ok(gap >= expected - 5 && gap < expected + 400, `gap ${i + 1} was ${gap}ms, expected ~${expected}ms`);
    }
  });

  it('dead-letters after maxDeliveries: one message on dead-letter.<topic>, the original is not redelivered', async () => {
    const bus = await topology.open();
    const dead: Delivery[] = [];
    await bus.subscribe('dead-letter.pay.failed', async (d) => void dead.push(d), { group: 'ops' });
    let calls = 0;
    await bus.subscribe(
      'pay.failed',
      async () => {
        calls++;
        throw new Error('card declined');
      },
      { group: 'billing', maxDeliveries: 2, backoff: { initial: 20, jitter: 'none' } },
    );
    const id = await bus.publish('pay.failed', { amount: 5 }, { headers: { traceparent: '00-abc-def-01' } });
    await waitUntil(() => dead.length === 1, 'the dead letter');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(calls, 2);
    assert.equal(dead.length, 1);
    assert.equal(dead[0]?.id, id);
    assert.equal(dead[0]?.headers.traceparent, '00-abc-def-01');
    assert.equal(dead[0]?.headers['sy-dead-letter-topic'], 'pay.failed');
    assert.equal(dead[0]?.headers['sy-dead-letter-error'], 'card declined');
    assert.equal(
      Object.keys(dead[0]?.headers ?? {}).some((h) => h.startsWith('x-')),
      false,
      'no broker headers leak',
    );
  });

  it('keeps a group durable across a reconnect: closed bus, publish from another bus, new member receives', async () => {
    const first = await topology.open();
    await (await first.subscribe('durable.orders', async () => {}, { group: 'shipping' })).close();
    await first.close();
    const publisher = await topology.open();
    const ids = [
      await publisher.publish('durable.orders', { n: 1 }),
      await publisher.publish('durable.orders', { n: 2 }),
    ];
    await publisher.close();
    const later = await topology.open();
    const got: Delivery[] = [];
    await later.subscribe('durable.orders', async (d) => void got.push(d), { group: 'shipping' });
    await waitUntil(() => got.length === 2, 'both messages published while the group was away');
    assert.deepEqual(
      got.map((d) => d.id),
      ids,
    );
  });

  it('after a lost connection: publishes fail at once with SY_BUS_UNAVAILABLE, then the bus reconnects and consumers resume', async () => {
    const proxy = await startTcpProxy('127.0.0.1', 5672);
    try {
      const bus = await topology.open({
        url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        reconnectDelay: '50ms',
        maxReconnectDelay: '200ms',
      });
      const got: Delivery[] = [];
      await bus.subscribe('reconnect.topic', async (d) => void got.push(d), { group: 'survivor' });
      await bus.publish('reconnect.topic', { before: true });
      await waitUntil(() => got.length === 1, 'the first message');

      proxy.refuse(true);
      proxy.cut();
      await waitUntil(() => !bus.connected, 'the bus to notice the lost connection');
      const started = Date.now();
      await assert.rejects(
        bus.publish('reconnect.topic', { during: true }),
        (err: unknown) =>
          isSwitchyardError(err, 'SY_BUS_UNAVAILABLE') && err.message.includes(`127.0.0.1:${proxy.port}`),
      );
      assert.ok(Date.now() - started < 1000, 'rejected at once, not after a timeout');

      proxy.refuse(false);
      await waitUntil(() => bus.connected, 'the bus to reconnect');
      // The subscription declares and consumes again on the new connection.
      const deadline = Date.now() + 5000;
      const sent: string[] = [];
      const resumed = () => got.find((d) => sent.includes(d.id));
      while (resumed() === undefined) {
        assert.ok(Date.now() < deadline, 'the resumed consumer got nothing');
        sent.push(await bus.publish('reconnect.topic', { after: true }));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(resumed()?.payload, { after: true });
      // The first message's ack may have been lost with the connection: then it came again, counted.
      const again = got.slice(1).filter((d) => d.id === got[0]?.id);
      assert.ok(
        again.every((d) => d.attempt === 2),
        `a redelivery counts as attempt 2: ${again.map((d) => d.attempt)}`,
      );
    } finally {
      await proxy.close();
    }
  });

  it('per-topic ordering: one member with concurrency 1 gets 200 messages in publish order', async () => {
    const bus = await topology.open();
    const got: number[] = [];
    await bus.subscribe('ordered.events', async (d) => void got.push(d.payload as number), { group: 'reader' });
    const sent = Array.from({ length: 200 }, (_, i) => i);
    // Published without waiting for each confirm: one channel keeps publish order.
    await Promise.all(sent.map((i) => bus.publish('ordered.events', i)));
    await waitUntil(() => got.length === 200, '200 messages');
    assert.deepEqual(got, sent);
  });
});
