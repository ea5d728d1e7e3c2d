import type { CounterCell } from './internal/counter-family.ts';
import type { MetricContext } from './internal/metric-context.ts';
import {
  RateLimitDecision,
  type RateLimitMetrics,
  type RateLimitRouteCounts,
  type RateLimitRouteMetrics,
} from './types.ts';

/**
 * Builds `rate_limit_decisions_total{route, decision}`; each route's three series exist from
 * the first decision, so a rate of `limited` reads 0 rather than "no data".
 */
export function createRateLimitMetrics(ctx: MetricContext): RateLimitMetrics {
  const decisions = ctx.counter('rate_limit_decisions_total', 'Rate limiter decisions, by route name.', [
    'route',
    'decision',
  ]);
  const cells: Array<{ route: string; allowed: CounterCell; limited: CounterCell; error: CounterCell }> = [];
  const routes = ctx.bounded('route', (route): RateLimitRouteMetrics => {
    const allowed = decisions.child(route, RateLimitDecision.Allowed);
    const limited = decisions.child(route, RateLimitDecision.Limited);
    const error = decisions.child(route, RateLimitDecision.Error);
    cells.push({ route, allowed, limited, error });
    return {
      record(decision: RateLimitDecision): void {
        const cell: CounterCell =
          decision === RateLimitDecision.Allowed ? allowed : decision === RateLimitDecision.Limited ? limited : error;
        cell.value++;
      },
    };
  });
  return {
    route: (name) => routes.get(name),
    counts: (): RateLimitRouteCounts[] =>
      cells.map((c) => ({ route: c.route, allowed: c.allowed.value, limited: c.limited.value, error: c.error.value })),
  };
}
