import { HealthStatus, type ServiceInstance } from '@switchyard/core';
import type { AgentService, HealthCheck } from './types.ts';

/** The parts of a health entry that {@link toServiceInstances} reads; both registry and Consul entries fit. */
export interface HealthEntryLike {
  readonly Node?: { readonly Address: string };
  readonly Service: Pick<AgentService, 'ID' | 'Service' | 'Tags' | 'Meta' | 'Address' | 'Port' | 'Weights'>;
  readonly Checks: readonly Pick<HealthCheck, 'Status'>[];
}

const severity: Record<HealthStatus, number> = { passing: 0, warning: 1, critical: 2 };

/**
 * Converts health entries into the instances a balancer may use: passing ones with
 * `Weights.Passing`, and warning ones too with `Weights.Warning`, as Consul's DNS interface does
 * (a warning check means "degraded", not "down"; Consul's default `Weights.Warning` of 1 keeps them
 * in rotation, and a registration can lower it to 0 to drain them). Critical instances are left out.
 * An empty service address falls back to the node's, as in Consul. The result is ordered by ID so
 * round robin stays stable across refreshes, and is deeply frozen.
 *
 * @param fallbackAddress - address for entries that have neither a service nor a node address
 * @example
 * ```ts
 * const instances = toServiceInstances(registry.instances('orders'), registry.node.Address);
 * ```
 */
export function toServiceInstances(
  entries: readonly HealthEntryLike[],
  fallbackAddress = '127.0.0.1',
): readonly ServiceInstance[] {
  const out: ServiceInstance[] = [];
  for (const entry of entries) {
    let status: HealthStatus = HealthStatus.Passing;
    for (const check of entry.Checks) if (severity[check.Status] > severity[status]) status = check.Status;
    if (status === HealthStatus.Critical) continue;
    const service = entry.Service;
    out.push(
      Object.freeze({
        id: service.ID,
        service: service.Service,
        address: service.Address || entry.Node?.Address || fallbackAddress,
        port: service.Port,
        tags: Object.freeze([...service.Tags]),
        meta: Object.freeze({ ...service.Meta }),
        status,
        weight: status === HealthStatus.Passing ? service.Weights.Passing : service.Weights.Warning,
      }),
    );
  }
  out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return Object.freeze(out);
}
