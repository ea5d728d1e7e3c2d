import type { MetricContext } from './internal/metric-context.ts';
import type { BulkheadInstanceMetrics, BulkheadMetrics } from './types.ts';

/** Builds `bulkhead_rejections_total{name}`: calls refused because every slot and queue place was taken. */
export function createBulkheadMetrics(ctx: MetricContext): BulkheadMetrics {
  const rejections = ctx.counter(
    'bulkhead_rejections_total',
    'Calls refused by a bulkhead because its slots and queue were full.',
    ['name'],
  );
  const bulkheads = ctx.bounded('name', (name): BulkheadInstanceMetrics => {
    const cell = rejections.child(name);
    return {
      rejected(): void {
        cell.value++;
      },
    };
  });
  return { named: (name) => bulkheads.get(name) };
}
