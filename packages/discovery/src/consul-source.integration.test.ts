import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import { consulSource } from './consul-source.ts';
import { closeServer, listen } from './internal/test-helpers.ts';
import type { DiscoveryWatcher } from './types.ts';

/** One scripted answer of the stub Consul: an index and the instance IDs, or a 500. */
type Answer = { index: number; ids: string[] } | { status: 500 };

function entry(id: string) {
  return { Node: { Node: 'n1', Address: '127.0.0.1' }, Service: { ID: id, Service: 'orders', Port: 8080 }, Checks: [] };
}

test('consulSource reports resynced before the list that follows an index reset or a failed query', async (t) => {
  const script: Answer[] = [
    { index: 10, ids: ['a'] },
    // The registry restarted: its index starts again below the one the watch holds.
    { index: 3, ids: ['b'] },
    { index: 3, ids: ['b'] },
    { status: 500 },
    { index: 4, ids: ['b', 'c'] },
  ];
  const queries: string[] = [];
  const { server, url } = await listen((req, res) => {
    queries.push(new URL(req.url ?? '/', 'http://x').searchParams.get('index') ?? 'none');
    const answer = script.shift();
    // Past the script the stub blocks like a quiet Consul, until the test closes it.
    if (answer === undefined) return;
    if ('status' in answer) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('boom');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json', 'x-consul-index': String(answer.index) })
      .end(JSON.stringify(answer.ids.map(entry)));
  });
  t.after(() => closeServer(server));

  const log: string[] = [];
  let wake: (() => void) | undefined;
  const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id).join(',');
  const watcher: DiscoveryWatcher = {
    next: (list) => {
      log.push(`next ${ids(list)}`);
      wake?.();
    },
    error: (err) => log.push(`error ${(err as { code?: string }).code}`),
    resynced: (reason) => log.push(`resynced ${reason}`),
  };
  const source = consulSource({ url, wait: '2s', backoff: { initialMs: 1, maxMs: 5 } });
  t.after(() => source.close());
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; log: ${JSON.stringify(log)}`)), 5000);
    wake = () => {
      if (log.at(-1) !== 'next b,c') return;
      clearTimeout(timer);
      resolve();
    };
  });
  using _watch = source.watch('orders', watcher);
  await done;

  assert.deepEqual(log, [
    'next a',
    'resynced consul index went backwards (10 -> 3)',
    'next b',
    'next b',
    'error SY_DISCOVERY_REGISTRY_REJECTED',
    `resynced ${log[5]?.slice('resynced '.length)}`,
    'next b,c',
  ]);
  assert.match(log[5] ?? '', /^resynced consul query failed, listing again from index 0 \(.*500/);
  // Index 0 (no `index` parameter) after the reset and after the error, as Consul's docs ask.
  assert.deepEqual(queries.slice(0, 5), ['none', '10', 'none', '3', 'none']);
});

test('consulSource does not report resynced when the first query of a watch fails', async (t) => {
  const script: Answer[] = [{ status: 500 }, { index: 7, ids: ['a'] }];
  const { server, url } = await listen((_req, res) => {
    const answer = script.shift();
    if (answer === undefined) return;
    if ('status' in answer) {
      res.writeHead(500).end('boom');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json', 'x-consul-index': String(answer.index) })
      .end(JSON.stringify(answer.ids.map(entry)));
  });
  t.after(() => closeServer(server));
  const log: string[] = [];
  const source = consulSource({ url, wait: '2s', backoff: { initialMs: 1, maxMs: 5 } });
  t.after(() => source.close());
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; log: ${JSON.stringify(log)}`)), 5000);
    source.watch('orders', {
      next: (list) => {
        log.push(`next ${list.map((i) => i.id).join(',')}`);
        clearTimeout(timer);
        resolve();
      },
      error: () => log.push('error'),
      resynced: (reason) => log.push(`resynced ${reason}`),
    });
  });
  assert.deepEqual(log, ['error', 'next a'], 'nothing was listed before, so nothing is re-listed');
});
