/**
 * Opens the registry a `registry:` section or a `SWITCHYARD_REGISTRY_URL` names: the embedded
 * registry (in-process, or through its Consul API), a Consul agent, etcd
 * (`@switchyard/adapter-etcd`) or, for discovery alone, Kubernetes
 * (`@switchyard/adapter-kubernetes`). Adapters are loaded only when named.
 */
import { invalidConfig } from '@switchyard/core';
import {
  consulRegistry,
  type DiscoverySource,
  embeddedRegistry,
  type Registry,
  type RegistryBackend,
} from '@switchyard/discovery';
import {
  etcdEndpoints,
  parseEtcdUrl,
  type RegistryConfig,
  type RegistryConfigInput,
  registryUrlFor,
  resolveRegistryConfig,
} from './registry-config.ts';

/** Options of {@link openRegistryBackend} and {@link openDiscoverySource}. */
export interface OpenRegistryOptions {
  /**
   * The in-process registry, for `backend: embedded` in the process that runs it; without it
   * the embedded registry is reached through its Consul API (`http://host:port`).
   */
  readonly registry?: Registry;
  /** The config path (or variable) named in errors. @default "registry" for a config, "SWITCHYARD_REGISTRY_URL" for a URL */
  readonly field?: string;
}

/**
 * A registry URL as a config: `http(s)://` is a Consul-compatible API (a Consul agent, or the
 * embedded registry's server), `etcd(s)://` is etcd.
 */
function configOfUrl(url: string, field: string): RegistryConfig {
  const trimmed = url.trim();
  if (/^https?:\/\//i.test(trimmed)) {
    if (!URL.canParse(trimmed)) throw invalidConfig([{ path: field, message: `"${url}" is not a valid URL` }]);
    return { backend: 'consul', url: trimmed };
  }
  if (/^etcds?:/i.test(trimmed)) {
    const location = parseEtcdUrl(trimmed, field);
    return resolveRegistryConfig(
      {
        backend: 'etcd',
        url: [...location.endpoints],
        prefix: location.prefix,
        ...(location.leaseTtl === undefined ? {} : { leaseTtl: location.leaseTtl }),
      },
      field,
    );
  }
  throw invalidConfig([
    {
      path: field,
      message: `unsupported registry URL ${JSON.stringify(url)}; expected http(s):// (embedded or Consul) or etcd://host:port`,
    },
  ]);
}

function resolveInput(input: RegistryConfigInput | string, options: OpenRegistryOptions): RegistryConfig {
  if (typeof input === 'string') return configOfUrl(input, options.field ?? 'SWITCHYARD_REGISTRY_URL');
  return resolveRegistryConfig(input, options.field ?? 'registry');
}

async function openBackend(config: RegistryConfig, options: OpenRegistryOptions): Promise<RegistryBackend | undefined> {
  switch (config.backend) {
    case 'embedded': {
      if (options.registry !== undefined) return embeddedRegistry(options.registry);
      // With `acl`, its API wants a token: the first that may write (registration needs it).
      const token = config.acl?.tokens.find((entry) => entry.policy === 'write')?.token;
      return consulRegistry({ url: registryUrlFor(config), ...(token === undefined ? {} : { token }) });
    }
    case 'consul':
      return consulRegistry({ url: config.url, ...(config.token === undefined ? {} : { token: config.token }) });
    case 'etcd': {
      const { createEtcdRegistry } = await import('@switchyard/adapter-etcd');
      return createEtcdRegistry({
        endpoints: etcdEndpoints(config.url),
        prefix: config.prefix,
        leaseTtl: config.leaseTtl,
      });
    }
    case 'kubernetes':
      return undefined;
  }
}

/**
 * Opens the registry services register with. The caller closes it (for etcd, closing revokes
 * the lease: this process's instances disappear at once).
 *
 * @param input - a `registry:` section, or a registry URL (`http://127.0.0.1:8500`,
 *   `etcd://127.0.0.1:2379/switchyard/services/`) such as `SWITCHYARD_REGISTRY_URL`
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field for a bad section or URL, and at
 *   `<field>.backend` for kubernetes (read-only: use {@link openDiscoverySource})
 * @example
 * ```ts
 * const registry = await openRegistryBackend(process.env.SWITCHYARD_REGISTRY_URL ?? 'http://127.0.0.1:8500');
 * await registry.register({ Name: 'orders', ID: 'orders-1', Address: '127.0.0.1', Port: 8081 });
 * await registry.close();
 * ```
 */
export async function openRegistryBackend(
  input: RegistryConfigInput | string,
  options: OpenRegistryOptions = {},
): Promise<RegistryBackend> {
  const config = resolveInput(input, options);
  const backend = await openBackend(config, options);
  if (backend === undefined) {
    throw invalidConfig([
      {
        path: `${options.field ?? 'registry'}.backend`,
        message: 'kubernetes is read-only: nothing can register with it (open it with openDiscoverySource)',
      },
    ]);
  }
  return backend;
}

/**
 * Opens the registry as a discovery source (for `createDiscoveryClient`, a gateway, or a
 * listing): every backend, Kubernetes EndpointSlices included. The caller closes it.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field for a bad section or URL
 * @example
 * ```ts
 * const source = await openDiscoverySource({ backend: 'kubernetes', namespace: 'shop', port: 'http' });
 * const discovery = createDiscoveryClient({ source });
 * console.log(await discovery.instances('orders'));
 * await discovery.close();
 * ```
 */
export async function openDiscoverySource(
  input: RegistryConfigInput | string,
  options: OpenRegistryOptions = {},
): Promise<DiscoverySource> {
  const config = resolveInput(input, options);
  const backend = await openBackend(config, options);
  if (backend !== undefined) return backend;
  if (config.backend !== 'kubernetes') throw new Error(`unreachable: no registry for ${config.backend}`);
  const { createKubernetesDiscovery } = await import('@switchyard/adapter-kubernetes');
  return createKubernetesDiscovery({
    addressType: config.addressType,
    ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
    ...(config.port === undefined ? {} : { port: config.port }),
  });
}

/**
 * A short description of where a registry is, for log lines and error messages
 * (`etcd http://10.0.0.3:2379 (prefix /switchyard/services/)`).
 *
 * @example
 * ```ts
 * describeRegistry(resolveRegistryConfig({ backend: 'consul', url: 'http://10.0.0.2:8500' })); // 'consul http://10.0.0.2:8500'
 * ```
 */
export function describeRegistry(config: RegistryConfig): string {
  switch (config.backend) {
    case 'embedded':
      return `embedded registry ${registryUrlFor(config)}`;
    case 'consul':
      return `consul ${config.url}`;
    case 'etcd':
      return `etcd ${etcdEndpoints(config.url).join(',')} (prefix ${config.prefix})`;
    case 'kubernetes':
      return `kubernetes namespace ${config.namespace ?? '(default)'}`;
  }
}
