import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import { createEventStream, type DiscoveryEvent } from './watch-stream.ts';

const list = (n: number): readonly ServiceInstance[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `o${i}`,
    service: 'orders',
    address: '127.0.0.1',
    port: 1,
    tags: [],
    meta: {},
    status: 'passing' as const,
    weight: 1,
  }));

async function drain(next: () => Promise<IteratorResult<DiscoveryEvent, undefined>>, count: number) {
  const out: DiscoveryEvent[] = [];
  for (let i = 0; i < count; i++) {
    const result = await next();
    if (result.done) break;
    out.push(result.value);
  }
  return out;
}

describe('discovery event stream', () => {
  test('holds at most one event of each kind, in causal order, however many are pushed', async () => {
    const { stream, sink } = createEventStream(() => {});
    for (let i = 1; i <= 10_000; i++) {
      sink.push({ type: 'stale', service: 's', since: i, error: 'down' });
      sink.push({ type: 'resynced', service: 's', reason: `r${i}`, at: i });
      sink.push({ type: 'instances', service: 's', instances: list(i % 7), at: i });
      sink.push({ type: 'fresh', service: 's', at: i, staleForMs: 1 });
    }
    sink.push({ type: 'stale', service: 's', since: 1, error: 'down again' });
    sink.push({ type: 'stale', service: 's', since: 2, error: 'still down' });
    const events = await drain(() => stream.next(), 3);
    const more = stream.next();
    sink.end();
    assert.deepEqual(await more, { done: true, value: undefined }, 'nothing else was queued');
    assert.deepEqual(
      events.map((e) => e.type),
      ['resynced', 'instances', 'stale'],
    );
    assert.equal(events[0]?.type === 'resynced' && events[0].reason, 'r10000');
    assert.equal(events[1]?.type === 'instances' && events[1].at, 10_000);
    assert.equal(events[2]?.type === 'stale' && events[2].since, 1, 'the first stale event of the period stays');
  });

  test('a waiting reader gets the next event at once, and end resolves it done', async () => {
    let ends = 0;
    const { stream, sink } = createEventStream(() => {
      ends += 1;
    });
    const waiting = stream.next();
    sink.push({ type: 'fresh', service: 's', at: 1, staleForMs: 0 });
    assert.deepEqual((await waiting).value, { type: 'fresh', service: 's', at: 1, staleForMs: 0 });
    const last = stream.next();
    await stream.return();
    await stream[Symbol.asyncDispose]();
    sink.end();
    assert.deepEqual(await last, { done: true, value: undefined });
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
    assert.equal(ends, 1, 'onEnd runs once whoever ends the stream');
    sink.push({ type: 'fresh', service: 's', at: 2, staleForMs: 0 });
    assert.deepEqual(await stream.next(), { done: true, value: undefined }, 'pushes after the end are dropped');
  });

  test('a second concurrent next() releases the first as done instead of leaving it hanging', async () => {
    const { stream, sink } = createEventStream(() => {});
    const first = stream.next();
    const second = stream.next();
    assert.deepEqual(await first, { done: true, value: undefined });
    sink.push({ type: 'fresh', service: 's', at: 1, staleForMs: 0 });
    assert.equal((await second).value?.type, 'fresh');
  });
});
