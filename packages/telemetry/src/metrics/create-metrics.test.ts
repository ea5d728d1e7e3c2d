import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { Registry } from 'prom-client';
import { createMetrics } from './create-metrics.ts';
import { sampleValue, seriesOf } from './internal/exposition.ts';

const h = (labels: string) => `switchyard_http_server_requests_total{${labels}}`;

describe('createMetrics: http server', () => {
  it('counts requests by route, normalised method and status class', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const orders = metrics.http.route('orders');
    orders.observe('GET', 200, 0.01);
    orders.observe('GET', 204, 0.01);
    orders.observe('get', 201, 0.01);
    orders.observe('POST', 503, 0.2);
    orders.observe('BREW', 418, 0.001);
    orders.observe('GET', 0, 0.5);
    const text = await metrics.text();
    assert.equal(sampleValue(text, h('route="orders",method="GET",status_class="2xx"')), 3);
    assert.equal(sampleValue(text, h('route="orders",method="POST",status_class="5xx"')), 1);
    assert.equal(sampleValue(text, h('route="orders",method="other",status_class="4xx"')), 1);
    assert.equal(sampleValue(text, h('route="orders",method="GET",status_class="other"')), 1);
    assert.equal(seriesOf(text, 'switchyard_http_server_requests_total').length, 4);
  });

  it('fills cumulative histogram buckets, sum and count in seconds', async () => {
    const metrics = createMetrics({ defaultMetrics: false, buckets: [0.1, 1] });
    const route = metrics.http.route('search');
    route.observe('GET', 200, 0.05);
    route.observe('GET', 200, 0.1);
    route.observe('GET', 200, 0.5);
    route.observe('GET', 200, 3);
    route.observe('GET', 200, Number.NaN);
    const text = await metrics.text();
    const b = (le: string) =>
      sampleValue(
        text,
        `switchyard_http_server_request_duration_seconds_bucket{route="search",method="GET",status_class="2xx",le="${le}"}`,
      );
    assert.equal(b('0.1'), 2, 'the bound is inclusive (le)');
    assert.equal(b('1'), 3);
    assert.equal(b('+Inf'), 4);
    const labels = '{route="search",method="GET",status_class="2xx"}';
    assert.equal(sampleValue(text, `switchyard_http_server_request_duration_seconds_count${labels}`), 4);
    assert.equal(sampleValue(text, `switchyard_http_server_request_duration_seconds_sum${labels}`), 3.65);
  });

  it('tracks requests in flight per route with start/end', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const route = metrics.http.route('orders');
    route.start();
    route.start();
    route.end('GET', 200, 0.01);
    const text = await metrics.text();
    assert.equal(sampleValue(text, 'switchyard_http_server_requests_in_flight{route="orders"}'), 1);
    assert.equal(sampleValue(text, h('route="orders",method="GET",status_class="2xx"')), 1);
  });

  it('returns the same handle for the same route name', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    assert.equal(metrics.http.route('a'), metrics.http.route('a'));
  });
});

describe('createMetrics: upstream', () => {
  it('keeps the breaker state gauge one-hot and counts transitions', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const orders = metrics.upstream.service('orders');
    orders.breakerState('closed');
    orders.breakerState('open');
    orders.breakerState('open');
    orders.breakerState('half_open');
    const text = await metrics.text();
    const state = (s: string) => sampleValue(text, `switchyard_upstream_breaker_state{service="orders",state="${s}"}`);
    assert.deepEqual([state('closed'), state('open'), state('half_open')], [0, 0, 1]);
    const t = (from: string, to: string) =>
      sampleValue(text, `switchyard_upstream_breaker_transitions_total{service="orders",from="${from}",to="${to}"}`);
    assert.equal(t('closed', 'open'), 1, 'a repeated state is not a transition');
    assert.equal(t('open', 'half_open'), 1);
    assert.equal(seriesOf(text, 'switchyard_upstream_breaker_transitions_total').length, 2);
  });

  it('counts attempts, failures by reason, retries, budget rejections and ejections', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const orders = metrics.upstream.service('orders');
    const one = orders.instance('orders-1');
    one.succeeded();
    one.failed('timeout');
    one.failed('timeout');
    one.failed('bogus' as 'other');
    orders.retried('timeout');
    orders.retryBudgetRejected();
    orders.ejected();
    const text = await metrics.text();
    const attempts = (o: string) =>
      sampleValue(text, `switchyard_upstream_attempts_total{service="orders",instance="orders-1",outcome="${o}"}`);
    assert.equal(attempts('success'), 1);
    assert.equal(attempts('failure'), 3);
    const failures = (r: string) =>
      sampleValue(text, `switchyard_upstream_failures_total{service="orders",instance="orders-1",reason="${r}"}`);
    assert.equal(failures('timeout'), 2);
    assert.equal(failures('other'), 1, 'an unknown reason is bounded to other');
    assert.equal(sampleValue(text, 'switchyard_upstream_retries_total{service="orders",reason="timeout"}'), 1);
    assert.equal(sampleValue(text, 'switchyard_upstream_retry_budget_rejections_total{service="orders"}'), 1);
    assert.equal(sampleValue(text, 'switchyard_upstream_ejections_total{service="orders"}'), 1);
  });
});

describe('createMetrics: rate limit, bulkhead, saga, bus', () => {
  it('counts each decision and exposes zeros for the others', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const route = metrics.rateLimit.route('orders');
    route.record('allowed');
    route.record('allowed');
    route.record('limited');
    const text = await metrics.text();
    const d = (x: string) => sampleValue(text, `switchyard_rate_limit_decisions_total{route="orders",decision="${x}"}`);
    assert.deepEqual([d('allowed'), d('limited'), d('error')], [2, 1, 0]);
  });

  it('counts bulkhead rejections by name', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.bulkhead.named('db').rejected();
    assert.equal(sampleValue(await metrics.text(), 'switchyard_bulkhead_rejections_total{name="db"}'), 1);
  });

  it('counts saga lifecycle events and step durations by phase and outcome', async () => {
    const metrics = createMetrics({ defaultMetrics: false, sagaStepBuckets: [1] });
    const saga = metrics.saga.definition('checkout');
    saga.started();
    saga.started();
    saga.completed();
    saga.compensated();
    saga.parked();
    saga.aborted();
    saga.step('reserve').observe('execute', 'success', 0.5);
    saga.step('reserve').observe('compensate', 'failure', 2);
    const text = await metrics.text();
    for (const [what, n] of [
      ['started', 2],
      ['completed', 1],
      ['compensated', 1],
      ['parked', 1],
      ['aborted', 1],
    ] as const) {
      assert.equal(sampleValue(text, `switchyard_saga_${what}_total{saga="checkout"}`), n, what);
    }
    const step = (phase: string, outcome: string, le: string) =>
      sampleValue(
        text,
        `switchyard_saga_step_duration_seconds_bucket{saga="checkout",step="reserve",phase="${phase}",outcome="${outcome}",le="${le}"}`,
      );
    assert.equal(step('execute', 'success', '1'), 1);
    assert.equal(step('compensate', 'failure', '1'), 0);
    assert.equal(step('compensate', 'failure', '+Inf'), 1);
  });

  it('counts bus publishes, consumes by outcome and redeliveries', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.bus.publisher('nats', 'orders.created').published();
    const consumer = metrics.bus.consumer('orders.created', 'billing');
    consumer.consumed('ack');
    consumer.consumed('retry');
    consumer.consumed('dead_letter');
    consumer.redelivered();
    const text = await metrics.text();
    assert.equal(sampleValue(text, 'switchyard_bus_published_total{bus="nats",topic="orders.created"}'), 1);
    for (const outcome of ['ack', 'retry', 'dead_letter']) {
      assert.equal(
        sampleValue(text, `switchyard_bus_consumed_total{topic="orders.created",group="billing",outcome="${outcome}"}`),
        1,
      );
    }
    assert.equal(sampleValue(text, 'switchyard_bus_redelivered_total{topic="orders.created",group="billing"}'), 1);
  });
});

describe('createMetrics: options and registry', () => {
  it('applies the prefix to every Switchyard metric', async () => {
    const metrics = createMetrics({ defaultMetrics: false, prefix: 'shop_' });
    metrics.http.route('a').observe('GET', 200, 0.01);
    const text = await metrics.text();
    assert.equal(sampleValue(text, 'shop_http_server_requests_total{route="a",method="GET",status_class="2xx"}'), 1);
    assert.ok(!text.includes('switchyard_'));
  });

  it('rejects bad options naming the field', () => {
    assert.throws(
      () => createMetrics({ buckets: [1, 0.5] }),
      (err: Error) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /telemetry\.metrics\.buckets/.test(err.message),
    );
    assert.throws(
      () => createMetrics({ prefix: 'Bad-Prefix' }),
      (err: Error) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /telemetry\.metrics\.prefix/.test(err.message),
    );
    assert.throws(
      () => createMetrics({ maxInstancesPerService: 0 }),
      (err: Error) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /maxInstancesPerService/.test(err.message),
    );
    assert.throws(
      () => createMetrics({ registry: {} as Registry }),
      (err: Error) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /telemetry\.metrics\.registry/.test(err.message),
    );
  });

  it('registers into a given registry beside the application metrics, and refuses a name clash', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry, defaultMetrics: false });
    assert.equal(metrics.registry, registry);
    assert.throws(
      () => createMetrics({ registry, defaultMetrics: false }),
      (err: Error) =>
        isSwitchyardError(err, 'SY_TELEMETRY_METRIC_NAME_TAKEN') && err.message.includes('switchyard_metrics_label_'),
    );
    const other = createMetrics({ registry, defaultMetrics: false, prefix: 'b_' });
    other.bulkhead.named('x').rejected();
    assert.equal(sampleValue(await registry.metrics(), 'b_bulkhead_rejections_total{name="x"}'), 1);
  });

  it('never throws on nonsense input on the hot path', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const route = metrics.http.route('x');
    route.observe(undefined as unknown as string, Number.NaN, -1);
    metrics.upstream.service('s').breakerState('melted' as 'open');
    metrics.saga
      .definition('s')
      .step('t')
      .observe('sideways' as 'execute', 'meh' as 'success', Number.NaN);
    const text = await metrics.text();
    assert.equal(sampleValue(text, h('route="x",method="other",status_class="other"')), 1);
    assert.equal(seriesOf(text, 'switchyard_upstream_breaker_state').length, 0);
  });
});

describe('createMetrics: all or nothing', () => {
  it('leaves a given registry as it was when a later name clashes', async () => {
    const registry = new Registry();
    const { Counter } = await import('prom-client');
    new Counter({
      name: 'switchyard_bus_published_total',
      help: 'the application got there first',
      registers: [registry],
    });
    assert.throws(
      () => createMetrics({ registry, defaultMetrics: false }),
      (err: Error) => isSwitchyardError(err, 'SY_TELEMETRY_METRIC_NAME_TAKEN') && err.message.includes('bus_published'),
    );
    assert.deepEqual(
      registry.getMetricsAsArray().map((m) => m.name),
      ['switchyard_bus_published_total'],
    );
  });
});
