import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from './create-metrics.ts';
import { sampleValue, seriesOf } from './internal/exposition.ts';

describe('label cardinality caps', () => {
  it('labels instances past maxInstancesPerService as other, per service', async () => {
    const metrics = createMetrics({ defaultMetrics: false, maxInstancesPerService: 2 });
    const orders = metrics.upstream.service('orders');
    for (const id of ['a', 'b', 'c', 'd', 'a']) orders.instance(id).succeeded();
    metrics.upstream.service('users').instance('u1').succeeded();
    const text = await metrics.text();
    const attempts = (service: string, instance: string) =>
      sampleValue(
        text,
        `switchyard_upstream_attempts_total{service="${service}",instance="${instance}",outcome="success"}`,
      );
    assert.equal(attempts('orders', 'a'), 2);
    assert.equal(attempts('orders', 'b'), 1);
    assert.equal(attempts('orders', 'other'), 2, 'c and d share other');
    assert.equal(attempts('orders', 'c'), undefined);
    assert.equal(attempts('users', 'u1'), 1, 'the cap is per service');
    assert.equal(sampleValue(text, 'switchyard_metrics_label_overflow_total{label="instance"}'), 2);
  });

  it('caps every bounded label (route here) at maxLabelValues, whatever is passed', async () => {
    const metrics = createMetrics({ defaultMetrics: false, maxLabelValues: 3 });
    for (let i = 0; i < 1000; i++) metrics.http.route(`/orders/${i}`).observe('GET', 200, 0.001);
    const text = await metrics.text();
    const series = seriesOf(text, 'switchyard_http_server_requests_total');
    assert.equal(series.length, 4, 'three names plus other');
    assert.equal(
      sampleValue(text, 'switchyard_http_server_requests_total{route="other",method="GET",status_class="2xx"}'),
      997,
    );
    assert.equal(sampleValue(text, 'switchyard_metrics_label_overflow_total{label="route"}'), 997);
  });

  it('bounds bus topics and groups the same way', async () => {
    const metrics = createMetrics({ defaultMetrics: false, maxLabelValues: 1 });
    metrics.bus.publisher('nats', 't1').published();
    metrics.bus.publisher('nats', 't2').published();
    metrics.bus.consumer('t1', 'g1').consumed('ack');
    metrics.bus.consumer('t1', 'g2').consumed('ack');
    const text = await metrics.text();
    assert.equal(sampleValue(text, 'switchyard_bus_published_total{bus="nats",topic="other"}'), 1);
    assert.equal(sampleValue(text, 'switchyard_bus_consumed_total{topic="t1",group="other",outcome="ack"}'), 1);
  });

  it('keeps method and status class to closed sets', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const route = metrics.http.route('r');
    for (let i = 0; i < 200; i++) route.observe(`M${i}`, 100 + i * 5, 0.001);
    const series = seriesOf(await metrics.text(), 'switchyard_http_server_requests_total');
    assert.equal(series.length, 6, 'method other x 6 status classes');
  });
});
