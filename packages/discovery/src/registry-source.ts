import { toServiceInstances } from './instances.ts';
import { subscription } from './internal/subscription.ts';
import type { Registry } from './registry.ts';
import type { DiscoverySource } from './types.ts';

/**
 * A {@link DiscoverySource} reading an in-process {@link Registry}: the first list is pushed at
 * once, later ones on every change to the service, with no polling and no sockets. The registry
 * stays owned by the caller; closing the source does not close it. It never loses its place (it
 * reads the registry's memory directly), so it never calls the watcher's `resynced`.
 *
 * @example
 * ```ts
 * const registry = createRegistry();
 * const discovery = createDiscoveryClient({ source: registrySource(registry) });
 * await discovery.instances('orders');
 * ```
 */
export function registrySource(registry: Registry): DiscoverySource {
  const active = new Set<() => void>();
  return {
    watch(service, watcher) {
      let seen = -1;
      const push = () => {
        const index = registry.serviceIndex(service);
        if (index === seen) return;
        seen = index;
        watcher.next(toServiceInstances(registry.instances(service), registry.node.Address));
      };
      const changes = registry.onChange(push);
      const stop = () => {
        changes.dispose();
        active.delete(stop);
      };
      active.add(stop);
      push();
      return subscription(stop);
    },
    close() {
      for (const stop of [...active]) stop();
      return Promise.resolve();
    },
  };
}
