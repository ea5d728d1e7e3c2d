import type { ServiceHealth } from '@switchyard/discovery';
import type { InstanceHealth, SystemService } from './system-admin.ts';

/** The part of a registry the admin API reads: the embedded registry has it. */
export interface RegistryReader {
  serviceNames(): Readonly<Record<string, readonly string[]>>;
  instances(name: string): readonly ServiceHealth[];
}

/**
 * The services source of the admin API over a Consul-shaped registry: every service, sorted,
 * with each instance's address, port, tags, meta and aggregated health.
 *
 * @example
 * ```ts
 * await startSystemAdmin({ ..., services: registryServices(registry) });
 * ```
 */
export function registryServices(registry: RegistryReader): () => SystemService[] {
  return () =>
    Object.keys(registry.serviceNames())
      .sort()
      .map((service) => ({
        service,
        instances: registry
          .instances(service)
          .map((entry) => ({
            id: entry.Service.ID,
            address: entry.Service.Address,
            port: entry.Service.Port,
            health: entry.Status as InstanceHealth,
            tags: entry.Service.Tags ?? [],
            meta: entry.Service.Meta ?? {},
          }))
          .sort((a, b) => a.id.localeCompare(b.id)),
      }));
}
