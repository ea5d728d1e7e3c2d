import type { MetricContext } from './internal/metric-context.ts';
import { AdminAuthRefusal, type AdminMetrics } from './types.ts';

/**
 * Builds `admin_auth_refused_total{reason}`; every reason's series exists from the start, so a
 * dashboard reads 0 rather than "no data" until the first refusal.
 */
export function createAdminMetrics(ctx: MetricContext): AdminMetrics {
  const refused = ctx.counter(
    'admin_auth_refused_total',
    'Admin API requests refused by authentication (401) or authorization (403), by reason.',
    ['reason'],
  );
  const cells = new Map(Object.values(AdminAuthRefusal).map((reason) => [reason, refused.child(reason)] as const));
  return {
    authRefused(reason) {
      const cell = cells.get(reason);
      if (cell !== undefined) cell.value++;
    },
  };
}
