import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { configIssues, invalidConfig, zDuration } from '@switchyard/core';
import * as z from 'zod';

/** Duck-typed so a `KubeConfig` from another copy of `@kubernetes/client-node` is accepted too. */
function isKubeConfig(value: unknown): value is KubeConfig {
  const v = value as { getCurrentCluster?: unknown; applyToHTTPSOptions?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.getCurrentCluster === 'function' &&
    typeof v.applyToHTTPSOptions === 'function'
  );
}

/** A DNS-1123 label, as Kubernetes requires of namespace names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The kinds of address an EndpointSlice holds (`addressType`). */
export const AddressType = {
  IPv4: 'IPv4',
  IPv6: 'IPv6',
  FQDN: 'FQDN',
} as const;
export type AddressType = (typeof AddressType)[keyof typeof AddressType];

/**
 * The options of `createKubernetesDiscovery`, as a strict zod schema (also used for
 * `switchyard.yaml`). An unknown field is an error naming the closest known one.
 */
export const kubernetesDiscoveryOptionsSchema = z
  .strictObject({
    /**
     * Namespace of the Services. @default the current kubeconfig context's namespace, else the
     * in-cluster service account's (`/var/run/secrets/kubernetes.io/serviceaccount/namespace`), else `'default'`
     */
    namespace: z
      .string()
      .max(63, { message: 'expected at most 63 characters' })
      .regex(DNS_LABEL, { message: 'expected a DNS-1123 label (lower-case alphanumerics and "-"), such as "shop"' })
      .optional(),
    /** The cluster and credentials. @default `new KubeConfig()` with `loadFromDefault()` (KUBECONFIG, ~/.kube/config or in-cluster) */
    kubeConfig: z
      .custom<KubeConfig>(isKubeConfig, { message: 'expected a KubeConfig from @kubernetes/client-node' })
      .optional(),
    /**
     * Which of a slice's ports becomes the instance port: a port name (`'http'`) or number (`8080`).
     * A slice without it contributes no instance. @default the slice's first port
     */
    port: z
      .union([
        z.string().min(1, { message: 'expected a port name or number' }),
        z.number().int().min(1).max(65535, { message: 'expected a port number in 1..65535' }),
      ])
      .optional(),
    /** Only slices of this address type are read. @default 'IPv4' */
    addressType: z.enum(['IPv4', 'IPv6', 'FQDN']).default('IPv4'),
    /**
     * Asks the API server to end each watch after this long (`timeoutSeconds`, rounded up); the
     * watch then resumes at once from its last resourceVersion. A connection silent for this long
     * plus 30 s counts as broken. @default '5m'
     */
    watchTimeout: zDuration()
      .refine((ms) => ms >= 1000, { message: 'expected a duration of at least 1s, such as "5m"' })
      .default(300_000),
    /** First delay before retrying after a failure; doubles per failure, with full jitter. @default '100ms' */
    minRetryDelay: zDuration()
      .refine((ms) => ms > 0, { message: 'expected a duration > 0, such as "100ms"' })
      .default(100),
    /** Cap of the retry delay. @default '5s' */
    maxRetryDelay: zDuration()
      .refine((ms) => ms > 0, { message: 'expected a duration > 0, such as "5s"' })
      .default(5000),
  })
  .superRefine((value, ctx) => {
    if (value.maxRetryDelay < value.minRetryDelay) {
      ctx.addIssue({ code: 'custom', path: ['maxRetryDelay'], message: 'expected a duration >= minRetryDelay' });
    }
  });

/** What `createKubernetesDiscovery` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type KubernetesDiscoveryOptions = z.input<typeof kubernetesDiscoveryOptionsSchema>;

/** {@link KubernetesDiscoveryOptions} validated, durations in milliseconds. */
export interface ResolvedKubernetesDiscoveryOptions {
  /** The namespace given, if any; `createKubernetesDiscovery` picks the default (it reads files). */
  readonly namespace: string | undefined;
  /** The KubeConfig passed in, if any (not frozen: it stays the caller's). */
  readonly kubeConfig: KubeConfig | undefined;
  readonly port: string | number | undefined;
  readonly addressType: AddressType;
  /** `watchTimeout` in whole seconds, as the API server's `timeoutSeconds` takes it. */
  readonly watchTimeoutSeconds: number;
  readonly minRetryDelayMs: number;
  readonly maxRetryDelayMs: number;
}

/**
 * Validates and completes the options of `createKubernetesDiscovery`.
 *
 * @param root - path prefix in error messages @default 'kubernetes'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`kubernetes.namespace: ...`)
 * @example
 * ```ts
 * resolveKubernetesDiscoveryOptions({ port: 'http', watchTimeout: '90s' }).watchTimeoutSeconds; // 90
 * ```
 */
export function resolveKubernetesDiscoveryOptions(
  input: KubernetesDiscoveryOptions = {},
  root = 'kubernetes',
): ResolvedKubernetesDiscoveryOptions {
  const result = kubernetesDiscoveryOptionsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(kubernetesDiscoveryOptionsSchema, result.error, root));
  const { namespace, kubeConfig, port, addressType, watchTimeout, minRetryDelay, maxRetryDelay } = result.data;
  // Frozen shallowly: deep-freezing would freeze the caller's KubeConfig.
  return Object.freeze({
    namespace,
    kubeConfig,
    port,
    addressType,
    watchTimeoutSeconds: Math.ceil(watchTimeout / 1000),
    minRetryDelayMs: minRetryDelay,
    maxRetryDelayMs: maxRetryDelay,
  });
}

/** Where a pod finds the namespace of its service account. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The namespace used when none is given: the current kubeconfig context's, else the one in the
 * service account file (present inside a pod), else `'default'`, as kubectl decides.
 *
 * @example
 * ```ts
 * defaultNamespace(kubeConfig); // 'shop' inside a pod of namespace shop
 * ```
 */
export function defaultNamespace(kubeConfig: KubeConfig, namespaceFile = SERVICE_ACCOUNT_NAMESPACE_FILE): string {
  const fromContext = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  if (fromContext !== undefined && fromContext !== '') return fromContext;
  try {
    const fromFile = readFileSync(namespaceFile, 'utf8').trim();
    if (fromFile !== '') return fromFile;
  } catch {
    // Not in a pod (or no service account mounted): fall through to kubectl's default.
  }
  return 'default';
}
