import type { ServiceInstance } from '@switchyard/core';
import { type Registry, toServiceInstances } from '@switchyard/discovery';
import type { XdsSnapshotSource } from './types.ts';

/** Options of {@link registrySnapshotSource}. */
export interface RegistrySnapshotSourceOptions {
  /** Only these services. @default every service registered */
  readonly services?: readonly string[];
}

/**
 * An {@link XdsSnapshotSource} over an in-process {@link Registry}: reads it at once and after
 * every registry change, in memory, with no polling. Instances are the usable ones (critical
 * ones left out), as the discovery client reports them. The registry stays the caller's.
 *
 * @example
 * ```ts
 * const registry = createRegistry();
 * const xds = await createXdsServer({ source: registrySnapshotSource(registry), port: 0 });
 * ```
 */
export function registrySnapshotSource(
  registry: Registry,
  options: RegistrySnapshotSourceOptions = {},
): XdsSnapshotSource {
  const read = () => {
    const names = options.services ?? Object.keys(registry.serviceNames());
    const services = new Map<string, readonly ServiceInstance[]>();
    for (const name of names) services.set(name, toServiceInstances(registry.instances(name), registry.node.Address));
    return services;
  };
  return {
    watch(listener) {
      const changes = registry.onChange(() => listener(read()));
      listener(read());
      return { dispose: () => changes.dispose() };
    },
  };
}
