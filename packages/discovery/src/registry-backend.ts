/**
 * One interface over every registry a service registers with and discovers from: the embedded
 * registry, a Consul agent (or the embedded registry's Consul API), and etcd
 * (`@switchyard/adapter-etcd`'s `createEtcdRegistry` has this shape). Kubernetes is read-only and
 * offers the discovery half alone (`@switchyard/adapter-kubernetes`, a {@link DiscoverySource}).
 */
import { cancelledError } from '@switchyard/core';
import { createConsulClient } from './consul-client.ts';
import { type ConsulSourceOptions, consulSource } from './consul-source.ts';
import type { Registry } from './registry.ts';
import { registrySource } from './registry-source.ts';
import type { DiscoverySource, ServiceRegistration } from './types.ts';

/**
 * A registry backend: registration (what `@switchyard/service` calls) plus a
 * {@link DiscoverySource} (what {@link createDiscoveryClient} reads, with tags, passing-only and
 * watches answered from its cache).
 */
export interface RegistryBackend extends DiscoverySource {
  /** Registers or replaces an instance. */
  register(registration: ServiceRegistration, signal?: AbortSignal): Promise<void>;
  /** Removes an instance; `false` when the registry did not know it. */
  deregister(serviceId: string, signal?: AbortSignal): Promise<boolean>;
}

/**
 * The in-process registry as a {@link RegistryBackend}. The registry stays the caller's:
 * `close()` stops the watches and leaves the registry open.
 *
 * @example
 * ```ts
 * const backend = embeddedRegistry(createRegistry());
 * await backend.register({ Name: 'orders', ID: 'orders-1', Port: 8081 });
 * const discovery = createDiscoveryClient({ source: backend });
 * ```
 */
export function embeddedRegistry(registry: Registry): RegistryBackend {
  const source = registrySource(registry);
  return {
    watch: (service, watcher) => source.watch(service, watcher),
    close: () => source.close(),
    async register(registration, signal) {
      if (signal?.aborted) throw cancelledError(signal, 'registration');
      registry.register(registration);
    },
    async deregister(serviceId, signal) {
      if (signal?.aborted) throw cancelledError(signal, 'deregistration');
      return registry.deregister(serviceId);
    },
  };
}

/**
 * A Consul agent, or the embedded registry's Consul API, as a {@link RegistryBackend}:
 * registration through the agent endpoints, discovery through blocking queries on
 * `/v1/health/service/:name`. `close()` closes both halves.
 *
 * @example
 * ```ts
 * const backend = consulRegistry({ url: 'http://127.0.0.1:8500' });
 * await backend.register({ Name: 'orders', ID: 'orders-1', Port: 8081 });
 * ```
 */
export function consulRegistry(options: ConsulSourceOptions): RegistryBackend {
  const client = createConsulClient({
    url: options.url,
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.fetchTimeout === undefined ? {} : { fetchTimeout: options.fetchTimeout }),
  });
  const source = consulSource(options);
  return {
    watch: (service, watcher) => source.watch(service, watcher),
    async close() {
      await Promise.all([source.close(), client.close()]);
    },
    register: (registration, signal) => client.register(registration, signal),
    deregister: (serviceId, signal) => client.deregister(serviceId, signal),
  };
}
