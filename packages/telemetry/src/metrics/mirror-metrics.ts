import type { MetricContext } from './internal/metric-context.ts';
import { type MirrorMetrics, MirrorOutcome, type MirrorRouteMetrics } from './types.ts';

/**
 * Builds `gateway_mirror_total{route, outcome}`; each route's series exist from its first
 * mirrored request, so a rate of `mismatch` reads 0 rather than "no data".
 */
export function createMirrorMetrics(ctx: MetricContext): MirrorMetrics {
  const total = ctx.counter(
    'gateway_mirror_total',
    'Mirrored (shadow) requests by route and outcome: the mirror status matched the client status, differed, failed, or the copy was skipped.',
    ['route', 'outcome'],
  );
  const routes = ctx.bounded('route', (route): MirrorRouteMetrics => {
    const cells = new Map(Object.values(MirrorOutcome).map((outcome) => [outcome, total.child(route, outcome)]));
    return {
      record(outcome) {
        const cell = cells.get(outcome);
        if (cell !== undefined) cell.value++;
      },
    };
  });
  return { route: (name) => routes.get(name) };
}
