import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HealthStatus, type ServiceInstance } from '@switchyard/core';
import { type AdsResponse, createAdsStream } from './ads-stream.ts';
import type { XdsServicePolicy } from './resources.ts';
import { createSnapshotCache, type ServiceEntry } from './snapshot-cache.ts';
import { type XdsEvent, XdsTypeUrl } from './types.ts';

const policy: XdsServicePolicy = { lbPolicy: 'round_robin', connectTimeoutMs: 1000 };
const at = (port: number): ServiceInstance => ({
  id: `i-${port}`,
  service: 's',
  address: '127.0.0.1',
  port,
  tags: [],
  meta: {},
  status: HealthStatus.Passing,
  weight: 1,
});
const entries = (spec: Record<string, number[]>) =>
  new Map<string, ServiceEntry>(
    Object.entries(spec).map(([name, ports]) => [name, { policy, instances: ports.map(at) }]),
  );

function setup() {
  const cache = createSnapshotCache();
  const sent: AdsResponse[] = [];
  const events: XdsEvent[] = [];
  let nonce = 0;
  const stream = createAdsStream({
    id: 7,
    cache,
    nextNonce: () => String(++nonce),
    send: (r) => sent.push(r),
    emit: (e) => events.push(e),
  });
  const request = (typeUrl: string, names: string[], extra: Record<string, unknown> = {}) =>
    stream.onRequest({ version_info: '', resource_names: names, type_url: typeUrl, response_nonce: '', ...extra });
  return { cache, sent, events, stream, request };
}

test('a request before the first snapshot is answered when it arrives, even with no resources', () => {
  const { cache, sent, stream, request } = setup();
  request(XdsTypeUrl.Listener, ['missing']);
  assert.equal(sent.length, 0);
  stream.onSnapshot(cache.update(entries({ a: [1] })));
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0]?.resources, []);
  assert.equal(sent[0]?.version_info, '1');
});

test('wildcard: an empty first request gets everything, and keeps getting new services', () => {
  const { cache, sent, stream, request } = setup();
  cache.update(entries({ a: [1] }));
  request(XdsTypeUrl.Cluster, []);
  assert.equal(sent[0]?.resources.length, 1);
  request(XdsTypeUrl.Cluster, [], { version_info: '1', response_nonce: sent[0]?.nonce });
  assert.equal(sent.length, 1, 'an ACK with unchanged names is not answered');
  stream.onSnapshot(cache.update(entries({ a: [1], b: [2] })));
  assert.equal(sent[1]?.resources.length, 2);
  assert.equal(sent[1]?.version_info, '2');
});

test('NACK: the rejected version is never re-sent to the stream, even on a subscription change', () => {
  const { cache, sent, events, stream, request } = setup();
  cache.update(entries({ a: [1], b: [2] }));
  request(XdsTypeUrl.ClusterLoadAssignment, ['a']);
  const nack = { response_nonce: sent[0]?.nonce, error_detail: { code: 3, message: 'bad' } };
  request(XdsTypeUrl.ClusterLoadAssignment, ['a', 'b'], nack);
  assert.equal(sent.length, 1);
  assert.equal(events.filter((e) => e.type === 'nack').length, 1);
  // An unrelated change moves the version: sent, with the new names.
  stream.onSnapshot(cache.update(entries({ a: [1], b: [3] })));
  assert.equal(sent.length, 2);
  assert.equal(sent[1]?.version_info, '2');
  assert.equal(sent[1]?.resources.length, 2);
});

test('the node of the first request is kept and reported in events', () => {
  const { cache, events, request } = setup();
  cache.update(entries({ a: [1] }));
  request(XdsTypeUrl.Listener, ['a'], {
    node: { id: 'client-1', cluster: 'c', user_agent_name: 'gRPC Node Pure JS', user_agent_version: '1.14.1' },
  });
  request(XdsTypeUrl.Cluster, ['a']);
  const last = events.at(-1);
  assert.equal(last?.type, 'response');
  assert.deepEqual(last?.type === 'response' ? last.node : undefined, {
    id: 'client-1',
    cluster: 'c',
    userAgent: 'gRPC Node Pure JS 1.14.1',
  });
});

test('versions move per type, only when that type changes', () => {
  const cache = createSnapshotCache();
  assert.equal(cache.update(entries({ a: [1] })).length, 4);
  assert.deepEqual(cache.update(entries({ a: [1] })), []);
  assert.deepEqual(cache.update(entries({ a: [2] })), [XdsTypeUrl.ClusterLoadAssignment]);
  assert.deepEqual(cache.versions(), {
    [XdsTypeUrl.Cluster]: '1',
    [XdsTypeUrl.ClusterLoadAssignment]: '2',
    [XdsTypeUrl.Listener]: '1',
    [XdsTypeUrl.RouteConfiguration]: '1',
  });
});
