import type { ServiceInstance } from '@switchyard/core';
import type { DiscoveryClient } from '@switchyard/discovery';
import type { XdsSnapshotSource } from './types.ts';

/**
 * An {@link XdsSnapshotSource} over a {@link DiscoveryClient} (any registry it reads: the embedded
 * one, Consul, etcd, Kubernetes) for a fixed list of services. The state is reported once every
 * service has a first list (a service whose first list does not come within the client's
 * `initialTimeout` is reported with no instances), then after each change. The client stays the
 * caller's.
 *
 * @example
 * ```ts
 * const discovery = createDiscoveryClient({ source: consulSource({ url }) });
 * const xds = await createXdsServer({ source: discoverySnapshotSource(discovery, ['greeter']) });
 * ```
 */
export function discoverySnapshotSource(client: DiscoveryClient, services: readonly string[]): XdsSnapshotSource {
  return {
    watch(listener) {
      const lists = new Map<string, readonly ServiceInstance[]>();
      let active = true;
      const report = () => {
        if (active && lists.size === services.length) listener(new Map(lists));
      };
      const subscriptions = services.map((service) =>
        client.onChange(service, (instances) => {
          lists.set(service, instances);
          report();
        }),
      );
      for (const service of services) {
        client.instances(service).then(
          (instances) => {
            if (!lists.has(service)) lists.set(service, instances);
            report();
          },
          () => {
            if (!lists.has(service)) lists.set(service, []);
            report();
          },
        );
      }
      return {
        dispose() {
          active = false;
          for (const s of subscriptions) s.dispose();
        },
      };
    },
  };
}
