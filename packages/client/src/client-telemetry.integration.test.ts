import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRetryBudget } from '@switchyard/resilience';
import {
  createMetrics,
  type MetricsDisposable,
  type SpanStore,
  type SwitchyardMetrics,
  setGlobalMetrics,
  setupTelemetry,
  type Telemetry,
  traced,
} from '@switchyard/telemetry';
import { ClientEvents } from './client-telemetry.ts';
import { closedPort, fastRetry, instanceAt, startServer, staticDiscovery, status } from './fixtures.test.ts';
import { createHttpClient } from './http-client.ts';

let telemetry: Telemetry;
let metrics: SwitchyardMetrics;
let restore: MetricsDisposable;

before(() => {
  telemetry = setupTelemetry({ serviceName: 'client-test', exporters: { otlp: false } });
  metrics = createMetrics({ defaultMetrics: false });
  restore = setGlobalMetrics(metrics);
});

after(async () => {
  restore.dispose();
  await telemetry.shutdown();
});

function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('client telemetry', () => {
  test('retries are events on the caller span and counted by reason; each attempt is a client span', async (t) => {
    const down = await closedPort();
    const up = await startServer(t, 'up');
    await using client = createHttpClient({
      discovery: staticDiscovery({
        stock: [instanceAt('stock', down, 'stock-down'), up.instance('stock', 'stock-up')],
      }),
      retry: fastRetry,
      balancer: () => ({ pick: (instances) => instances[0] }),
    });
    const response = await traced('caller', async () => {
      const res = await client.request('stock', { path: '/items' });
      await res.body.text();
      return res;
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.attempts, 2);

    const store = telemetry.spanStore as SpanStore;
    const caller = store.spans({ limit: 1000 }).find((s) => s.name === 'caller');
    assert.ok(caller);
    const retry = caller.events.find((e) => e.name === ClientEvents.Retry);
    assert.ok(retry, 'a retry event on the active span');
    assert.equal(retry.attributes['switchyard.retry.reason'], 'connect');
    assert.equal(retry.attributes['switchyard.upstream.instance'], 'stock-up');
    const attempts = store.trace(caller.traceId).filter((s) => s.kind === 'client');
    assert.equal(attempts.length, 2);
    const refused = attempts.find((s) => s.attributes['switchyard.upstream.instance'] === 'stock-down');
    assert.equal(refused?.status.code, 'error');
    assert.equal(refused?.attributes['error.type'], 'SY_CLIENT_CONNECT_FAILED');
    assert.equal(
      String(up.seen[0]?.headers.traceparent).split('-')[2],
      attempts.find((s) => s.attributes['switchyard.upstream.instance'] === 'stock-up')?.spanId,
      'the attempt carries its own span as parent',
    );

    const text = await metrics.text();
    assert.equal(sample(text, 'switchyard_upstream_retries_total{service="stock",reason="connect"}'), 1);
    assert.equal(
      sample(text, 'switchyard_upstream_failures_total{service="stock",instance="stock-down",reason="connect"}'),
      1,
    );
    assert.equal(
      sample(text, 'switchyard_upstream_attempts_total{service="stock",instance="stock-up",outcome="success"}'),
      1,
    );
  });

  test('a retry refused by the budget is an event and a metric; the last response is returned', async (t) => {
    const busy = await startServer(t, 'busy', status('busy', 503));
    await using client = createHttpClient({
      discovery: staticDiscovery({ quotes: [busy.instance('quotes')] }),
      retry: { ...fastRetry, maxAttempts: 3, statuses: [503] },
      budget: createRetryBudget({ ratio: 0, minRetriesPerSecond: 0, ttl: '10s' }),
    });
    const response = await traced('budgeted', () => client.request('quotes', { path: '/q' }));
    assert.equal(response.statusCode, 503);
    await response.body.dump();
    assert.equal(busy.seen.length, 1, 'the budget refused the retry');
    const store = telemetry.spanStore as SpanStore;
    const span = store.spans({ limit: 1000 }).find((s) => s.name === 'budgeted');
    assert.ok(span?.events.some((e) => e.name === ClientEvents.RetryBudgetExhausted));
    const text = await metrics.text();
    assert.equal(sample(text, 'switchyard_upstream_retry_budget_rejections_total{service="quotes"}'), 1);
    assert.equal(
      sample(text, 'switchyard_upstream_failures_total{service="quotes",instance="quotes-busy",reason="status"}'),
      1,
    );
  });
});
