import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import { createMetrics } from './create-metrics.ts';
import { sampleValue, seriesOf } from './internal/exposition.ts';

const instance = (service: string, id: string, status: ServiceInstance['status']): ServiceInstance => ({
  id,
  service,
  address: '127.0.0.1',
  port: 8080,
  tags: [],
  meta: {},
  status,
  weight: 1,
});

const g = (service: string, health: string) => `switchyard_registry_instances{service="${service}",health="${health}"}`;

describe('registry instances gauge', () => {
  it('counts instances by service and health from the snapshot at scrape time', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let snapshot: ServiceInstance[] = [
      instance('orders', 'o1', 'passing'),
      instance('orders', 'o2', 'passing'),
      instance('orders', 'o3', 'critical'),
      instance('users', 'u1', 'warning'),
    ];
    metrics.discovery.addInstanceSource(() => snapshot);
    let text = await metrics.text();
    assert.equal(sampleValue(text, g('orders', 'passing')), 2);
    assert.equal(sampleValue(text, g('orders', 'warning')), 0);
    assert.equal(sampleValue(text, g('orders', 'critical')), 1);
    assert.equal(sampleValue(text, g('users', 'warning')), 1);

    snapshot = [instance('orders', 'o1', 'critical')];
    text = await metrics.text();
    assert.equal(sampleValue(text, g('orders', 'passing')), 0, 'read again at the next scrape');
    assert.equal(sampleValue(text, g('orders', 'critical')), 1);
    assert.equal(sampleValue(text, g('users', 'warning')), undefined, 'a service gone from the registry disappears');
  });

  it('adds sources up, skips a throwing one, and stops reading a disposed one', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.discovery.addInstanceSource(() => [instance('orders', 'o1', 'passing')]);
    metrics.discovery.addInstanceSource(() => [instance('orders', 'o2', 'passing')]);
    metrics.discovery.addInstanceSource(() => {
      throw new Error('registry unavailable');
    });
    let text = await metrics.text();
    assert.equal(sampleValue(text, g('orders', 'passing')), 2);
    a.dispose();
    a.dispose();
    text = await metrics.text();
    assert.equal(sampleValue(text, g('orders', 'passing')), 1);
  });

  it('sums services past the cap under other', async () => {
    const metrics = createMetrics({ defaultMetrics: false, maxLabelValues: 2 });
    metrics.discovery.addInstanceSource(() => ['a', 'b', 'c', 'd'].map((s) => instance(s, `${s}1`, 'passing')));
    const text = await metrics.text();
    assert.equal(sampleValue(text, g('other', 'passing')), 2);
    assert.equal(seriesOf(text, 'switchyard_registry_instances').length, 9);
  });
});
