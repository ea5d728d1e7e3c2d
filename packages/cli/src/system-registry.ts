/**
 * The registry of `switchyard up`, as the `registry:` section chooses it. `embedded`: the
 * in-process registry, kept in the data directory and served over its Consul-compatible API.
 * `consul` and `etcd`: no registry server runs here; instances register with the external one,
 * and `up` keeps an in-process mirror of the configured services' instances from it, so the
 * supervisor, status table and admin API read one registry whatever the backend.
 */
import { join } from 'node:path';
import {
  describeRegistry,
  openDiscoverySource,
  parseBackendUrl,
  type RegistryConfig,
  registryUrlFor,
} from '@switchyard/backends';
import type { ServiceInstance } from '@switchyard/core';
import {
  createRegistry,
  createRegistryServer,
  type DiscoverySource,
  type Registry,
  registrySource,
  type Subscription,
} from '@switchyard/discovery';
import { globalMetrics } from '@switchyard/telemetry';

/** What `up` gets from {@link startSystemRegistry}. */
export interface SystemRegistry {
  /** The embedded registry, or the mirror of the external one: what the supervisor and admin read. */
  readonly registry: Registry;
  /** `SWITCHYARD_REGISTRY_URL` for instances: `http://` (embedded, consul) or `etcd://`. */
  readonly instanceUrl: string;
  /** For the summary and log lines (`etcd http://127.0.0.1:2379 (prefix /switchyard/services/)`). */
  readonly description: string;
  /** The discovery source of the gateway: the embedded registry, or the external one itself. */
  readonly source: DiscoverySource;
  /** Whether `up` serves the registry (embedded) rather than using an external one. */
  readonly embedded: boolean;
  /** Stops the watches, the server and the registry; idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startSystemRegistry}. */
export interface SystemRegistryOptions {
  readonly config: RegistryConfig;
  readonly dataDir: string;
  /** The services whose instances the mirror follows (those `up` runs and those routes name). */
  readonly services: readonly string[];
  /** Told about a watch error of the external registry (it is retried). */
  readonly onError?: (service: string, err: unknown) => void;
}

/**
 * Starts the registry part of `up`. The embedded server's ACL refusals are counted in
 * `switchyard_registry_auth_refused_total{reason}` of the global metrics.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` at `registry.backend` for kubernetes (instances
 *   cannot register with it); the registry server's listen error (a port in use)
 * @example
 * ```ts
 * const system = await startSystemRegistry({ config: config.registry, dataDir, services: ['orders'] });
 * console.log(system.instanceUrl); // http://127.0.0.1:8500, or etcd://127.0.0.1:2379/switchyard/services/?leaseTtl=10s
 * await system.close();
 * ```
 */
export async function startSystemRegistry(options: SystemRegistryOptions): Promise<SystemRegistry> {
  const { config } = options;
  if (config.backend === 'embedded') {
    // Registrations persist in the data directory, so a restarted supervisor keeps them.
    const registry = createRegistry({ dataFile: join(options.dataDir, 'registry.db') });
    let server: Awaited<ReturnType<typeof createRegistryServer>>;
    try {
      server = await createRegistryServer({
        registry,
        host: config.host,
        port: config.port,
        ...(config.acl === undefined ? {} : { acl: config.acl }),
        // Read per refusal: the process's metrics (up's admin `/metrics`), or the no-op without them.
        onAuthRefused: (reason) => globalMetrics().controlPlane.registryAuthRefused(reason),
      });
    } catch (err) {
      await registry.close();
      throw err;
    }
    const source = registrySource(registry);
    return {
      registry,
      instanceUrl: server.url,
      description: `${server.url}  (Consul-compatible API)`,
      source,
      embedded: true,
      close: once(async () => {
        await source.close();
        await server.close();
        await registry.close();
      }),
    };
  }
  // Checked before anything is opened: kubernetes cannot take registrations.
  const instanceUrl = registryUrlFor(config);
  const source = await openDiscoverySource(config);
  const mirror = createRegistry();
  const watches: Subscription[] = options.services.map((service) =>
    source.watch(service, {
      next: (instances) => sync(mirror, service, instances),
      error: (err) => options.onError?.(service, err),
    }),
  );
  return {
    registry: mirror,
    instanceUrl,
    description: describeRegistry(config),
    source,
    embedded: false,
    close: once(async () => {
      for (const watch of watches) watch.dispose();
      await source.close();
      await mirror.close();
    }),
  };
}

/** Makes the mirror hold exactly `instances` for `service`, with their health as a TTL check. */
function sync(mirror: Registry, service: string, instances: readonly ServiceInstance[]): void {
  if (mirror.closed) return;
  const seen = new Set<string>();
  for (const instance of instances) {
    seen.add(instance.id);
    mirror.register({
      Name: service,
      ID: instance.id,
      Address: instance.address,
      Port: instance.port,
      Tags: [...instance.tags],
      Meta: { ...instance.meta },
      // The external registry owns the health; the long TTL only carries its status here.
      Check: { TTL: '24h', Status: instance.status },
    });
  }
  for (const entry of mirror.instances(service)) {
    if (!seen.has(entry.Service.ID)) mirror.deregister(entry.Service.ID);
  }
}

function once(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= run();
    return running;
  };
}

/**
 * `SWITCHYARD_SAGA_STORE` and `SWITCHYARD_EVENT_BUS` for instances, from `sagas.store` and
 * `events.bus`, with a relative `sqlite:` path made absolute against the data directory (the
 * instances run in their own working directories), and `SWITCHYARD_REGISTRY_TOKEN` from the
 * `token` of a `consul` registry. Absent sections set nothing.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming `sagas.store` or `events.bus` for a bad URL
 * @example
 * ```ts
 * instanceBackendEnv({ sagas: { store: 'sqlite:sagas.sqlite' } }, '/srv/shop/.data');
 * // { SWITCHYARD_SAGA_STORE: 'sqlite:/srv/shop/.data/sagas.sqlite' }
 * ```
 */
export function instanceBackendEnv(
  config: {
    readonly sagas?: { readonly store: string } | undefined;
    readonly events?: { readonly bus: string } | undefined;
    readonly registry?: RegistryConfig | undefined;
  },
  dataDir: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  const absolute = (url: string, schemes: readonly string[], field: string) => {
    const { scheme, target } = parseBackendUrl(url, schemes, field, dataDir);
    return scheme === 'sqlite' ? `sqlite:${target}` : url.trim();
  };
  if (config.sagas !== undefined) {
    env.SWITCHYARD_SAGA_STORE = absolute(config.sagas.store, ['sqlite', 'postgres'], 'sagas.store');
  }
  if (config.events !== undefined) {
    env.SWITCHYARD_EVENT_BUS = absolute(config.events.bus, ['sqlite', 'nats', 'amqp', 'amqps'], 'events.bus');
  }
  if (config.registry?.backend === 'consul' && config.registry.token !== undefined) {
    env.SWITCHYARD_REGISTRY_TOKEN = config.registry.token;
  }
  return env;
}
