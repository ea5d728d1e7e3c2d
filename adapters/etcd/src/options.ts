import { configIssues, invalidConfig, zDuration } from '@switchyard/core';
import type { Etcd3 } from 'etcd3';
import * as z from 'zod';

/** Duck-typed so a client from another copy of etcd3 is accepted too. */
function isEtcdClient(value: unknown): value is Etcd3 {
  const v = value as { watch?: unknown; lease?: unknown; getAll?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.watch === 'function' &&
    typeof v.lease === 'function' &&
    typeof v.getAll === 'function'
  );
}

const positiveDuration = zDuration().refine((ms) => ms > 0, { message: 'expected a duration > 0, such as "3s"' });

/**
 * The options of `createEtcdRegistry`, as a strict zod schema (also used for `switchyard.yaml`).
 * An unknown field is an error naming the closest known one.
 */
export const etcdRegistryOptionsSchema = z
  .strictObject({
    /**
     * etcd client URLs (`http://host:port`); the client balances over them.
     * Not allowed together with `client`. @default ['http://127.0.0.1:2379']
     */
    endpoints: z
      .array(
        z.string().refine((v) => /^https?:\/\/./.test(v) && URL.canParse(v), {
          message: 'expected an http:// or https:// URL, such as "http://127.0.0.1:2379"',
        }),
      )
      .min(1, { message: 'expected at least one endpoint' })
      .optional(),
    /** An etcd3 client to use instead of connecting to `endpoints`; the registry never closes it. */
    client: z.custom<Etcd3>(isEtcdClient, { message: 'expected an etcd3 Etcd3 instance' }).optional(),
    /** Root of the key layout: instances live at `<prefix><service>/<id>`. @default '/switchyard/services/' */
    prefix: z
      .string()
      .refine((v) => v.endsWith('/'), { message: 'expected a prefix ending in "/", such as "/switchyard/services/"' })
      .default('/switchyard/services/'),
    /**
     * Time to live of the lease holding this process's instances; they vanish this long after the
     * process dies. etcd counts whole seconds, so it is rounded up. @default '10s'
     */
    leaseTtl: zDuration()
      .refine((ms) => ms >= 1000, { message: 'expected a duration of at least 1s (etcd leases count whole seconds)' })
      .default(10_000),
    /** How long connecting to an endpoint may take. @default '3s' */
    dialTimeout: positiveDuration.default(3000),
    /** How long one request (get, put, delete, grant) may take before `SY_ETCD_UNAVAILABLE`. @default '5s' */
    callTimeout: positiveDuration.default(5000),
  })
  .superRefine((value, ctx) => {
    if (value.endpoints !== undefined && value.client !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['endpoints'], message: 'give either endpoints or client, not both' });
    }
  });

/** What `createEtcdRegistry` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type EtcdRegistryOptions = z.input<typeof etcdRegistryOptionsSchema>;

/** {@link EtcdRegistryOptions} with every default applied, durations in milliseconds. */
export interface ResolvedEtcdRegistryOptions {
  /** The endpoints connected to; empty when `client` was given. */
  readonly endpoints: readonly string[];
  /** The client passed in, if any (not frozen: it stays the caller's). */
  readonly client: Etcd3 | undefined;
  readonly prefix: string;
  /** The lease TTL in whole seconds, as etcd takes it. */
  readonly leaseTtlSeconds: number;
  readonly dialTimeoutMs: number;
  readonly callTimeoutMs: number;
}

/** The default etcd client URL. */
export const DEFAULT_ETCD_ENDPOINT = 'http://127.0.0.1:2379';

/**
 * Validates and completes the registry's options.
 *
 * @param root - path prefix in error messages @default 'etcd'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`etcd.leaseTtl: ...`)
 * @example
 * ```ts
 * resolveEtcdRegistryOptions({ leaseTtl: '2500ms' }).leaseTtlSeconds; // 3
 * ```
 */
export function resolveEtcdRegistryOptions(
  input: EtcdRegistryOptions = {},
  root = 'etcd',
): ResolvedEtcdRegistryOptions {
  const result = etcdRegistryOptionsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(etcdRegistryOptionsSchema, result.error, root));
  const { client, endpoints, prefix, leaseTtl, dialTimeout, callTimeout } = result.data;
  // Frozen shallowly rather than with resolveOptions: deep-freezing would freeze the caller's client.
  return Object.freeze({
    endpoints: Object.freeze(client === undefined ? [...(endpoints ?? [DEFAULT_ETCD_ENDPOINT])] : []),
    client,
    prefix,
    leaseTtlSeconds: Math.ceil(leaseTtl / 1000),
    dialTimeoutMs: dialTimeout,
    callTimeoutMs: callTimeout,
  });
}
