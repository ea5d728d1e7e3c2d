import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { isSwitchyardError } from '@switchyard/core';
import type { Delivery, EventBus } from '@switchyard/saga';
import { eventBusContract, startTcpProxy } from '@switchyard/saga/testing';
import { deleteStream, randomNames, requireNats } from './internal/require-nats.ts';

import { createNatsEventBus, type NatsEventBus } from './nats-event-bus.ts';

let natsUp: Promise<void> | undefined;
/** Checked once per file; every test that needs NATS fails with how to start it. */
const needNats = () => {
  natsUp ??= requireNats();
  return natsUp;
};

eventBusContract('nats', async () => {
  await needNats();
  const names = randomNames('contract');
  const bus = await createNatsEventBus({ ...names, storage: 'memory', maxAge: '5m' });
  return {
    bus,
    topicPrefix: 'orders',
    second: () => createNatsEventBus({ ...names, storage: 'memory', maxAge: '5m' }),
    cleanup: async () => {
      await bus.close();
      await deleteStream(names.stream);
    },
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

describe('createNatsEventBus against NATS JetStream', () => {
  const names = randomNames('bus');
  const buses: EventBus[] = [];
  const open = async (extra: Parameters<typeof createNatsEventBus>[0] = {}): Promise<NatsEventBus> => {
    const bus = await createNatsEventBus({ ...names, ...extra });
    buses.push(bus);
    return bus;
  };

  before(() => needNats());
  after(async () => {
    for (const bus of buses) await bus.close();
    await deleteStream(names.stream);
  });

  it('fails with SY_NATS_CONNECT_FAILED naming host:port when nothing listens, within connectTimeout', async () => {
    const port = await closedPort();
    const started = Date.now();
    await assert.rejects(
      createNatsEventBus({ servers: `nats://127.0.0.1:${port}`, connectTimeout: '2s' }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_NATS_CONNECT_FAILED') && err.message.includes(`127.0.0.1:${port}`) && err.retryable,
    );
    assert.ok(Date.now() - started < 3000, `failed after ${Date.now() - started}ms`);
  });

  it('rejects bad options with SY_CONFIG_INVALID naming the field', async () => {
    await assert.rejects(
      createNatsEventBus({ servers: 'http://x' }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('nats.servers'),
    );
    await assert.rejects(
      createNatsEventBus({ stream: 'a.b' }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('nats.stream'),
    );
  });

  it('creates the stream capturing <subjectPrefix>.> and a durable consumer per group, deliver policy new', async () => {
    const bus = await open();
    await bus.publish('setup.before', { early: true });
    const got: Delivery[] = [];
    const sub = await bus.subscribe('setup.before', async (d) => void got.push(d), {
      group: 'inspect',
      ackTimeout: '3s',
    });
    const id = await bus.publish('setup.before', { late: true });
    await waitUntil(() => got.length === 1, 'the message published after the group existed');
    assert.equal(got[0]?.id, id, 'a new group starts with what is published after it subscribed');
    await sub.close();

    const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(names.stream);
      assert.deepEqual(info.config.subjects, [`${names.subjectPrefix}.>`]);
      assert.equal(info.config.retention, 'limits');
      const consumers = await jsm.consumers.list(names.stream).next();
      const mine = consumers.find((c) => c.config.filter_subject === `${names.subjectPrefix}.setup.before`);
      assert.ok(mine, 'a durable consumer filtered on the topic subject');
      assert.equal(mine.config.durable_name, mine.name);
      assert.equal(mine.config.ack_policy, 'explicit');
      assert.equal(mine.config.ack_wait, (3000 + 2000) * 1_000_000, 'ack wait = ackTimeout + 2s grace');
    } finally {
      await nc.close();
    }
  });

  it('redelivers with the configured exponential backoff (nak with delay)', async () => {
    const bus = await open();
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
    // 100ms, 200ms, 400ms, each at least that long and not wildly longer.
    for (const [i, expected] of [100, 200, 400].entries()) {
      const gap = gaps[i] ?? 0;
      assert.ok(gap >= expected - 5 && gap < expected + 400, `gap ${i + 1} was ${gap}ms, expected ~${expected}ms`);
    }
  });

  it('dead-letters after maxDeliveries: one message on dead-letter.<topic>, the original is not redelivered', async () => {
    const bus = await open();
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
  });

  it('keeps a group durable across a reconnect: closed bus, publish from another bus, new member receives', async () => {
    const first = await open();
    const sub = await first.subscribe('durable.orders', async () => {}, { group: 'shipping' });
    await sub.close();
    await first.close();

    const publisher = await open();
    const ids = [
      await publisher.publish('durable.orders', { n: 1 }),
      await publisher.publish('durable.orders', { n: 2 }),
    ];
    await publisher.close();

    const later = await open();
    const got: Delivery[] = [];
    await later.subscribe('durable.orders', async (d) => void got.push(d), { group: 'shipping' });
    await waitUntil(() => got.length === 2, 'both messages published while the group was away');
    assert.deepEqual(
      got.map((d) => d.id),
      ids,
    );
    assert.ok(got.every((d) => d.attempt === 1));
  });

  it('per-topic ordering: one member with concurrency 1 gets 200 messages in publish order', async () => {
    const bus = await open();
    const got: number[] = [];
    await bus.subscribe('ordered.events', async (d) => void got.push(d.payload as number), { group: 'reader' });
    const sent = Array.from({ length: 200 }, (_, i) => i);
    await Promise.all(sent.map((i) => bus.publish('ordered.events', i)));
    // Concurrent publishes may be stored in any order; the stream order is what a member must see.
    await waitUntil(() => got.length === 200, '200 messages');
    const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
    try {
      const jsm = await jetstreamManager(nc);
      const stored: number[] = [];
      const info = await jsm.streams.info(names.stream);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(names.stream, { seq }).catch(() => null);
        if (m?.subject === `${names.subjectPrefix}.ordered.events`) stored.push(m.json<number>());
      }
      assert.deepEqual(got, stored);
    } finally {
      await nc.close();
    }
  });

  it('a duplicate publish (same id within duplicateWindow) is stored once', async () => {
    const bus = await open();
    const got: Delivery[] = [];
    await bus.subscribe('dedupe.topic', async (d) => void got.push(d), { group: 'g' });
    await bus.publish('dedupe.topic', 1, { id: 'outbox-row-7' });
    await bus.publish('dedupe.topic', 1, { id: 'outbox-row-7' });
    await waitUntil(() => got.length === 1, 'one delivery');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(got.length, 1);
  });

  it('dead-letters a message whose body is not JSON at once, body and headers kept', async () => {
    const bus = await open();
    let calls = 0;
    await bus.subscribe('foreign.raw', async () => void calls++, { group: 'reader', maxDeliveries: 5 });
    const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
    try {
      const js = (await jetstreamManager(nc)).jetstream();
      const h = headers();
      h.set('x-origin', 'legacy');
      // Another publisher's message, not JSON: no handler can take it, so it is not retried.
      await js.publish(`${names.subjectPrefix}.foreign.raw`, new TextEncoder().encode('{not json'), { headers: h });
    } finally {
      await nc.close();
    }
    const raw: string[] = [];
    const spy = await connect({ servers: 'nats://127.0.0.1:4222' });
    try {
      const jsm = await jetstreamManager(spy);
      const deadline = Date.now() + 5000;
      while (raw.length === 0) {
        assert.ok(Date.now() < deadline, 'no dead letter stored');
        const m = await jsm.streams
          .getMessage(names.stream, { last_by_subj: `${names.subjectPrefix}.dead-letter.foreign.raw` })
          .catch(() => null);
        if (m) {
          raw.push(m.string());
          assert.equal(m.header.get('x-origin'), 'legacy');
          assert.match(m.header.get('sy-dead-letter-error'), /not UTF-8 JSON/);
          assert.equal(m.header.get('sy-deliveries'), '1');
        } else await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await spy.close();
    }
    assert.deepEqual(raw, ['{not json']);
    assert.equal(calls, 0, 'the handler never saw it');
  });

  it('after a lost connection: publishes fail at once with SY_BUS_UNAVAILABLE, then it reconnects and consumers resume', async () => {
    const proxy = await startTcpProxy('127.0.0.1', 4222);
    try {
      const bus = await open({ servers: `nats://127.0.0.1:${proxy.port}`, reconnectDelay: '100ms' });
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
      const id = await bus.publish('reconnect.topic', { after: true });
      await waitUntil(() => got.length === 2, 'the message published after the reconnect', 10_000);
      assert.equal(got[1]?.id, id);
    } finally {
      await proxy.close();
    }
  });
});
