import type { MetricContext } from './internal/metric-context.ts';
import { type ControlPlaneMetrics, RegistryAuthRefusal, XdsAuthRefusal } from './types.ts';

/**
 * Builds `registry_auth_refused_total{reason}` and `xds_auth_refused_total{reason}`: requests the
 * registry's ACL answered 403 and ADS calls the xDS server refused as `UNAUTHENTICATED`. Every
 * reason's series exists from the start, so a dashboard reads 0 rather than "no data" until the
 * first refusal (and an alert on a rate works from the first scrape).
 */
export function createControlPlaneMetrics(ctx: MetricContext): ControlPlaneMetrics {
  const registry = ctx.counter(
    'registry_auth_refused_total',
    'Registry API requests refused by its ACL (403), by reason.',
    ['reason'],
  );
  const xds = ctx.counter(
    'xds_auth_refused_total',
    'xDS (ADS) calls refused as UNAUTHENTICATED for their client certificate or bearer token, by reason.',
    ['reason'],
  );
  const registryCells = new Map(
    Object.values(RegistryAuthRefusal).map((reason) => [reason, registry.child(reason)] as const),
  );
  const xdsCells = new Map(Object.values(XdsAuthRefusal).map((reason) => [reason, xds.child(reason)] as const));
  return {
    registryAuthRefused(reason) {
      // An unknown reason (a caller's bug) is dropped: labels stay bounded and telemetry never throws.
      const cell = registryCells.get(reason);
      if (cell !== undefined) cell.value++;
    },
    xdsAuthRefused(reason) {
      const cell = xdsCells.get(reason);
      if (cell !== undefined) cell.value++;
    },
  };
}
