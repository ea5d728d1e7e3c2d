import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics, type SwitchyardMetrics } from './create-metrics.ts';
import { promtoolCheckMetrics } from './internal/promtool.ts';

/** Touches every instrument, with awkward label values (quotes, backslashes, newlines, unicode). */
function touchEverything(metrics: SwitchyardMetrics): void {
  const route = metrics.http.route('orders "v2"\\\nnew');
  route.start();
  route.end('GET', 200, 0.01);
  route.observe('PATCH', 503, 12);
  metrics.http.route('ünïcode').observe('BREW', 0, 0.001);
  const svc = metrics.upstream.service('orders');
  svc.instance('10.0.0.1:8080').succeeded();
  svc.instance('10.0.0.1:8080').failed('timeout');
  svc.retried('connect');
  svc.retryBudgetRejected();
  svc.ejected();
  svc.breakerState('closed');
  svc.breakerState('open');
  svc.breakerState('half_open');
  metrics.rateLimit.route('orders').record('limited');
  metrics.bulkhead.named('db').rejected();
  metrics.discovery.addInstanceSource(() => [{ service: 'orders', status: 'passing' }]);
  const saga = metrics.saga.definition('checkout');
  saga.started();
  saga.completed();
  saga.compensated();
  saga.parked();
  saga.aborted();
  saga.step('reserve').observe('compensate', 'failure', 0.3);
  metrics.bus.publisher('nats', 'orders.created').published();
  metrics.bus.consumer('orders.created', 'billing').consumed('dead_letter');
  metrics.bus.consumer('orders.created', 'billing').redelivered();
}

describe('promtool check metrics', () => {
  it('passes on the full exposition with every instrument touched', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    touchEverything(metrics);
    const text = await metrics.text();
    assert.ok(text.includes('switchyard_saga_step_duration_seconds_bucket'), 'every group is in the exposition');
    const result = await promtoolCheckMetrics(text);
    assert.ok(result.ok, `promtool rejected the exposition:\n${result.output}`);
    assert.equal(result.output, '', 'no lint warnings either');
  });

  it('passes with the Node process metrics included, which keep process_cpu_seconds_total', async () => {
    const metrics = createMetrics({ defaultMetrics: true });
    touchEverything(metrics);
    const text = await metrics.text();
    assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
    assert.match(text, /^# TYPE nodejs_active_handles gauge$/m);
    assert.doesNotMatch(text, /^# TYPE nodejs_active_handles_total /m, 'the gauge promtool rejects is left out');
    const result = await promtoolCheckMetrics(text);
    assert.ok(result.ok, `promtool rejected the exposition:\n${result.output}`);
  });

  it('really lints: it rejects a gauge named *_total, as prom-client defaults have', async () => {
    const result = await promtoolCheckMetrics(
      '# HELP nodejs_active_handles_total x\n# TYPE nodejs_active_handles_total gauge\nnodejs_active_handles_total 3\n',
    );
    assert.equal(result.ok, false);
    assert.match(result.output, /non-counter metrics should not have "_total" suffix/);
  });

  it('fails, naming the package to install, when promtool is missing', async () => {
    await assert.rejects(
      promtoolCheckMetrics('', '/nonexistent/promtool'),
      /promtool was not found .*does not skip\. Install it with: apt-get install prometheus/,
    );
  });
});
