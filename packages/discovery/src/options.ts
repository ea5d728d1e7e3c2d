import { resolveOptions, zDuration, zPort } from '@switchyard/core';
import * as z from 'zod';
import { registryAclSchema, requireRegistryAclWhenExposed } from './registry-acl.ts';

/**
 * The embedded registry server's config (`registry:` in `switchyard.yaml`).
 *
 * @example
 * ```ts
 * registryOptionsSchema.parse({ port: 0 }); // { host: '127.0.0.1', port: 0 }
 * ```
 */
export const registryOptionsSchema = z
  .strictObject({
    /** Interface to listen on. @default '127.0.0.1' */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port of the Consul-compatible API; 0 picks a free one. @default 8500 */
    port: zPort().default(8500),
    /** Tokens of the Consul-compatible API; required when `host` is not a loopback address. */
    acl: registryAclSchema.optional(),
  })
  .superRefine((registry, ctx) => requireRegistryAclWhenExposed(registry, ctx));

/** Registry server config as users write it. */
export type RegistryOptions = z.input<typeof registryOptionsSchema>;
/** Registry server config with defaults applied, frozen. */
export type ResolvedRegistryOptions = Readonly<z.output<typeof registryOptionsSchema>>;

/**
 * Validates registry server config and applies defaults.
 *
 * @param root - path prefix for error messages
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`registry.port: ...`)
 * @example
 * ```ts
 * resolveRegistryOptions({ port: 8501 }); // { host: '127.0.0.1', port: 8501 }
 * ```
 */
export function resolveRegistryOptions(input: unknown = {}, root = 'registry'): ResolvedRegistryOptions {
  return resolveOptions(registryOptionsSchema, input, root);
}

/**
 * Options of {@link createConsulClient}.
 *
 * @example
 * ```ts
 * consulClientOptionsSchema.parse({ url: 'http://127.0.0.1:8500' }); // { url: ..., fetchTimeout: 10000 }
 * ```
 */
export const consulClientOptionsSchema = z.strictObject({
  /** Base URL of a Consul agent or the embedded registry server, e.g. `http://127.0.0.1:8500`. */
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL such as "http://127.0.0.1:8500"' }),
  /** ACL token sent as `X-Consul-Token`. */
  token: z.string().min(1).optional(),
  /**
   * Time limit of a plain call, and the allowance on top of `wait` (plus its wait/16 jitter) for a
   * blocking query. Milliseconds or a duration string. @default '10s'
   */
  fetchTimeout: zDuration().default(10_000),
});

/** Consul client options as users write them. */
export type ConsulClientOptions = z.input<typeof consulClientOptionsSchema>;
/** Consul client options with defaults applied (`fetchTimeout` in milliseconds), frozen. */
export type ResolvedConsulClientOptions = Readonly<z.output<typeof consulClientOptionsSchema>>;

/**
 * Validates Consul client options and applies defaults.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field
 * @example
 * ```ts
 * resolveConsulClientOptions({ url: 'http://127.0.0.1:8500', fetchTimeout: '2s' }).fetchTimeout; // 2000
 * ```
 */
export function resolveConsulClientOptions(input: unknown, root = 'consul'): ResolvedConsulClientOptions {
  return resolveOptions(consulClientOptionsSchema, input, root);
}
