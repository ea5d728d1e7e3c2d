/**
 * The `registry:` section of `switchyard.yaml` and the registry URLs instances get as
 * `SWITCHYARD_REGISTRY_URL`: `http(s)://` for the embedded registry's Consul API or a Consul agent,
 * `etcd://host:port[,host:port]/<prefix>/` for etcd. One schema for code and files.
 */
import { configIssues, deepFreeze, invalidConfig, zDuration, zPort } from '@switchyard/core';
import { registryAclSchema, requireRegistryAclWhenExposed } from '@switchyard/discovery';
import * as z from 'zod';

/** The registry backends a system can use. */
export const RegistryBackendKind = {
  /** The registry `switchyard up` runs in-process, served over a Consul-compatible HTTP API. */
  Embedded: 'embedded',
  /** A Consul agent (or any Consul-compatible API). */
  Consul: 'consul',
  /** etcd v3 (`@switchyard/adapter-etcd`): instances live under a lease. */
  Etcd: 'etcd',
  /** Kubernetes EndpointSlices (`@switchyard/adapter-kubernetes`): read-only, discovery alone. */
  Kubernetes: 'kubernetes',
} as const;
/** One of {@link RegistryBackendKind}. */
export type RegistryBackendKind = (typeof RegistryBackendKind)[keyof typeof RegistryBackendKind];

/** The default key prefix of etcd instance records. */
export const DEFAULT_ETCD_PREFIX = '/switchyard/services/';

const httpUrl = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/./i.test(v) && URL.canParse(v), {
    message: 'expected an http:// or https:// URL, such as "http://127.0.0.1:8500"',
  });

const etcdEndpoint = z
  .string()
  .trim()
  .refine((v) => /^(https?|etcds?):\/\/[^/?#]+/i.test(v) && URL.canParse(v.replace(/^etcd(s?):/i, 'http$1:')), {
    message: 'expected an http://, https:// or etcd:// URL, such as "http://127.0.0.1:2379"',
  });

const etcdPrefix = z
  .string()
  .regex(/^\/([A-Za-z0-9_.-]+\/)*$/, {
    message: 'expected a key prefix of "/"-separated words ending in "/", such as "/switchyard/services/"',
  })
  .default(DEFAULT_ETCD_PREFIX);

/** `registry:` for the embedded registry; `host` and `port` are where its Consul API listens. */
const embeddedSchema = z
  .strictObject({
    backend: z.literal('embedded'),
    /** Interface of the Consul-compatible API. @default '127.0.0.1' */
    host: z.string().min(1, 'must not be empty').default('127.0.0.1'),
    /** Port of the Consul-compatible API; 0 picks a free one. @default 8500 */
    port: zPort().default(8500),
    /** Tokens of the Consul-compatible API; required when `host` is not a loopback address. */
    acl: registryAclSchema.optional(),
  })
  .superRefine((registry, ctx) => requireRegistryAclWhenExposed(registry, ctx));

const consulSchema = z.strictObject({
  backend: z.literal('consul'),
  /** The agent's HTTP API. @default 'http://127.0.0.1:8500' */
  url: httpUrl.default('http://127.0.0.1:8500'),
  /** ACL token sent as `X-Consul-Token`. */
  token: z.string().min(1, 'must not be empty').optional(),
});

const etcdSchema = z.strictObject({
  backend: z.literal('etcd'),
  /** One endpoint or a list; `etcd://host:port` means `http://host:port`. @default 'http://127.0.0.1:2379' */
  url: z
    .union([etcdEndpoint, z.array(etcdEndpoint).min(1, 'expected at least one endpoint')])
    .default('http://127.0.0.1:2379'),
  /** Instances live at `<prefix><service>/<id>`. @default '/switchyard/services/' */
  prefix: etcdPrefix,
  /** Lease time to live: a dead process's instances vanish this long after it stops. @default '10s' */
  leaseTtl: zDuration()
    .refine((ms) => ms >= 1000, 'expected a duration of at least 1s (etcd leases count whole seconds)')
    .default(10_000),
});

const kubernetesSchema = z.strictObject({
  backend: z.literal('kubernetes'),
  /** Namespace of the Services. @default the kubeconfig context's, the pod's, else 'default' */
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a DNS-1123 label (lower-case alphanumerics and "-")')
    .optional(),
  /** Which EndpointSlice port is the instance port: a name (`http`) or number. @default the first port */
  port: z.union([z.string().min(1), z.number().int().min(1).max(65_535)]).optional(),
  /** Which address type of slices is read. @default 'IPv4' */
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']).default('IPv4'),
});

const backends = ['embedded', 'consul', 'etcd', 'kubernetes'];

/** A missing `backend` means the embedded registry (the config of earlier releases has none). */
const withDefaultBackend = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !('backend' in value)
    ? { ...value, backend: 'embedded' }
    : value;

/**
 * The `registry:` section: which registry the system uses, and how to reach it. Without `backend`
 * it is the embedded registry (`host`, `port`). Each backend takes only its own fields, so a
 * field of another backend is an error naming it.
 *
 * @example
 * ```ts
 * registryConfigSchema.parse({ backend: 'etcd', url: 'etcd://127.0.0.1:2379' });
 * // { backend: 'etcd', url: 'etcd://127.0.0.1:2379', prefix: '/switchyard/services/', leaseTtl: 10000 }
 * ```
 */
export const registryConfigSchema = z.preprocess(
  withDefaultBackend,
  z.discriminatedUnion('backend', [embeddedSchema, consulSchema, etcdSchema, kubernetesSchema], {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `expected backend to be one of ${backends.map((b) => `"${b}"`).join(', ')}, got ${JSON.stringify((issue.input as { backend?: unknown } | undefined)?.backend)}`
        : undefined,
  }),
);

/** The `registry:` section as written. */
export type RegistryConfigInput =
  | (Omit<z.input<typeof embeddedSchema>, 'backend'> & { readonly backend?: 'embedded' })
  | z.input<typeof consulSchema>
  | z.input<typeof etcdSchema>
  | z.input<typeof kubernetesSchema>;
/** The `registry:` section validated, with defaults applied (`leaseTtl` in milliseconds). */
export type RegistryConfig = z.output<typeof registryConfigSchema>;

/**
 * Validates a `registry:` section and applies defaults.
 *
 * @param root - path prefix of error messages @default 'registry'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`registry.url: ...`)
 * @example
 * ```ts
 * resolveRegistryConfig({ backend: 'consul', url: 'http://10.0.0.2:8500' }).backend; // 'consul'
 * resolveRegistryConfig({ port: 0 }); // { backend: 'embedded', host: '127.0.0.1', port: 0 }
 * ```
 */
export function resolveRegistryConfig(input: unknown = {}, root = 'registry'): Readonly<RegistryConfig> {
  const result = registryConfigSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(registryConfigSchema, result.error, root));
  return deepFreeze(result.data);
}

/** Where an etcd registry is, as an `etcd://` URL says. */
export interface EtcdLocation {
  /** `http(s)://host:port` endpoints, as the etcd client takes them. */
  readonly endpoints: readonly string[];
  readonly prefix: string;
  /** From `?leaseTtl=`, when given. */
  readonly leaseTtl?: string;
}

/**
 * Reads `etcd://host:port[,host:port...][/prefix/][?leaseTtl=10s]` (`etcds://` for TLS), the
 * form `switchyard up` passes to instances as `SWITCHYARD_REGISTRY_URL`.
 *
 * @param field - the config path or variable named in errors
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming `field`
 * @example
 * ```ts
 * parseEtcdUrl('etcd://127.0.0.1:2379/shop/services/', 'SWITCHYARD_REGISTRY_URL');
 * // { endpoints: ['http://127.0.0.1:2379'], prefix: '/shop/services/' }
 * ```
 */
export function parseEtcdUrl(url: string, field: string): EtcdLocation {
  const match = /^etcd(s?):\/\/([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url.trim());
  const bad = (why: string) =>
    invalidConfig([
      { path: field, message: `${why}; expected "etcd://host:port[,host:port][/prefix/]", got ${JSON.stringify(url)}` },
    ]);
  if (match === null) throw bad('not an etcd:// URL');
  const scheme = match[1] === '' ? 'http' : 'https';
  const endpoints = (match[2] ?? '').split(',').map((host) => `${scheme}://${host.trim()}`);
  for (const endpoint of endpoints) {
    if (!URL.canParse(endpoint) || new URL(endpoint).port === '') throw bad(`bad endpoint "${endpoint}"`);
  }
  const path = match[3] ?? '';
  const prefix = path === '' || path === '/' ? DEFAULT_ETCD_PREFIX : path.endsWith('/') ? path : `${path}/`;
  if (!/^\/([A-Za-z0-9_.-]+\/)*$/.test(prefix)) throw bad(`bad key prefix "${prefix}"`);
  const params = new URLSearchParams(match[4] ?? '');
  for (const key of params.keys()) {
    if (key !== 'leaseTtl') throw bad(`unknown parameter "${key}" (known: leaseTtl)`);
  }
  const leaseTtl = params.get('leaseTtl');
  return leaseTtl === null ? { endpoints, prefix } : { endpoints, prefix, leaseTtl };
}

/** `http://host:port` → `host:port`; an `etcd://` URL keeps its host part. */
function hostOf(endpoint: string): string {
  return endpoint.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

/**
 * The URL an instance gets as `SWITCHYARD_REGISTRY_URL` for a registry config: the Consul API's
 * `http://` URL (embedded, consul), or `etcd://hosts/prefix/?leaseTtl=` (etcd).
 *
 * @param embeddedUrl - the embedded registry server's actual URL (its port may have been 0)
 * @throws SwitchyardError `SY_CONFIG_INVALID` at `registry.backend` for kubernetes, which
 *   instances cannot register with
 * @example
 * ```ts
 * registryUrlFor(resolveRegistryConfig({ backend: 'etcd', url: 'http://10.0.0.3:2379' }));
 * // 'etcd://10.0.0.3:2379/switchyard/services/?leaseTtl=10s'
 * ```
 */
export function registryUrlFor(config: RegistryConfig, embeddedUrl?: string): string {
  switch (config.backend) {
    case 'embedded':
      return embeddedUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    case 'consul':
      return config.url;
    case 'etcd': {
      const urls = typeof config.url === 'string' ? [config.url] : [...config.url];
      const tls = urls.some((u) => /^(https|etcds):/i.test(u));
      const seconds = Math.ceil(config.leaseTtl / 1000);
      return `etcd${tls ? 's' : ''}://${urls.map(hostOf).join(',')}${config.prefix}?leaseTtl=${seconds}s`;
    }
    case 'kubernetes':
      throw invalidConfig([
        {
          path: 'registry.backend',
          message:
            'kubernetes is read-only: instances cannot register with it (use embedded, consul or etcd to run services)',
        },
      ]);
  }
}

/**
 * The etcd endpoints of a config's `url`, as the etcd client takes them: `etcd://` becomes
 * `http://`, `etcds://` becomes `https://`.
 *
 * @example
 * ```ts
 * etcdEndpoints(['etcd://10.0.0.3:2379', 'https://10.0.0.4:2379']); // ['http://10.0.0.3:2379', 'https://10.0.0.4:2379']
 * ```
 */
export function etcdEndpoints(url: string | readonly string[]): string[] {
  return (typeof url === 'string' ? [url] : [...url]).map((u) => u.replace(/^etcd(s?):/i, (_, s) => `http${s}:`));
}
