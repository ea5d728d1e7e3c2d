/**
 * Options of {@link createXdsServer}: zod schemas for the data fields, checked by hand for the
 * live objects (`source`, `clock`, `logger`, `onEvent`, `onAuthRefused`) so they are neither cloned
 * nor frozen.
 */
import { type Clock, type ConfigIssue, invalidConfig, resolveOptions, zDuration, zPort } from '@switchyard/core';
import * as z from 'zod';
import type { XdsServicePolicy } from './xds/resources.ts';
import type { XdsEvent, XdsLogger, XdsSnapshotSource } from './xds/types.ts';
import {
  type ResolvedXdsAuthOptions,
  requireXdsAuthWhenExposed,
  type XdsAuthOptions,
  type XdsAuthRefusal,
  xdsAuthSchema,
} from './xds-auth.ts';

const serviceName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, 'expected a service name: letters, digits, ".", "_", "-"');

const lbPolicy = z.enum(['round_robin', 'ring_hash']);

/** Per-service settings; each overrides the server-wide field of the same name. */
export const xdsServiceOptionsSchema = z.strictObject({
  /** Cluster `lb_policy`. @default the server's `lbPolicy` */
  lbPolicy: lbPolicy.optional(),
  /** With `ring_hash`: the request header to hash (gRPC metadata key, lower case). */
  hashHeader: z
    .string()
    .regex(/^[a-z0-9._-]+$/, 'expected a lower-case header name')
    .optional(),
  /** Route timeout. @default the server's `routeTimeout` */
  routeTimeout: zDuration().optional(),
  /** Cluster connect timeout. @default the server's `connectTimeout` */
  connectTimeout: zDuration().optional(),
});

const serviceList = z.array(serviceName).refine((v) => new Set(v).size === v.length, {
  message: 'expected distinct service names',
});
const serviceRecord = z.record(serviceName, xdsServiceOptionsSchema);

function serverSchema<S extends z.ZodType>(services: S) {
  return z
    .strictObject({
      services: services.optional(),
      host: z.string().min(1).default('127.0.0.1'),
      port: zPort().default(18_000),
      lbPolicy: lbPolicy.default('round_robin'),
      routeTimeout: zDuration().optional(),
      connectTimeout: zDuration()
        .default(1000)
        .refine((ms) => ms > 0, { message: 'expected a duration above 0' }),
      debounce: zDuration().default(100),
      shutdownTimeout: zDuration().default(5000),
      auth: xdsAuthSchema.optional(),
    })
    .superRefine((xds, ctx) => requireXdsAuthWhenExposed(xds, ctx));
}

/** The data fields of {@link XdsServerOptions} (`services` as names or as a record of settings). */
export const xdsServerOptionsSchema = serverSchema(z.union([serviceList, serviceRecord]));
// Checked against one shape or the other, so a bad entry is named (a union only says "Invalid input").
const listSchema = serverSchema(serviceList);
const recordSchema = serverSchema(serviceRecord);

/** Per-service settings of {@link XdsServerOptions.services}. */
export type XdsServiceOptions = z.input<typeof xdsServiceOptionsSchema>;

/** Options for {@link createXdsServer}. */
export interface XdsServerOptions {
  /** Where services and instances come from: {@link registrySnapshotSource}, {@link discoverySnapshotSource} or your own. */
  readonly source: XdsSnapshotSource;
  /**
   * The services to serve: names, or names with per-service settings. Listed services are served
   * even while they have no instances (their endpoints list is empty). @default every service the source reports
   */
  readonly services?: readonly string[] | Readonly<Record<string, XdsServiceOptions>>;
  /** Address to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. @default 18000 */
  readonly port?: number;
  /**
   * Who may open a stream: bearer `tokens` in the `authorization` metadata, `tls` requiring
   * client certificates, or both. Required when `host` is not a loopback address.
   */
  readonly auth?: XdsAuthOptions;
  /** Cluster `lb_policy` for every service. @default 'round_robin' */
  readonly lbPolicy?: 'round_robin' | 'ring_hash';
  /** Route timeout for every service (ms or `"5s"`). @default none */
  readonly routeTimeout?: number | string;
  /** Cluster `connect_timeout` (ms or `"1s"`). @default '1s' */
  readonly connectTimeout?: number | string;
  /** Source changes arriving within this window are pushed as one version (ms or `"100ms"`). @default '100ms' */
  readonly debounce?: number | string;
  /** How long `close()` waits for streams to end before cutting them (ms or `"5s"`). @default '5s' */
  readonly shutdownTimeout?: number | string;
  /** Drives the debounce. @default systemClock */
  readonly clock?: Clock;
  /** Where a NACK is logged (once per stream, type and version). @default process warnings */
  readonly logger?: XdsLogger;
  /** Called with every {@link XdsEvent}, for logs and metrics; a throw is turned into a process warning. */
  readonly onEvent?: (event: XdsEvent) => void;
  /**
   * Called with the reason of every ADS call refused by `auth` (its client certificate or its
   * bearer token), for metrics: `switchyard up` counts them in `switchyard_xds_auth_refused_total{reason}`. A throw is
   * turned into a process warning.
   */
  readonly onAuthRefused?: (reason: XdsAuthRefusal) => void;
}

/** The complete, frozen data options. */
export interface ResolvedXdsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly debounceMs: number;
  readonly shutdownTimeoutMs: number;
  /** `undefined`: every service the source reports, with `defaultPolicy`. */
  readonly services: ReadonlyMap<string, XdsServicePolicy> | undefined;
  readonly defaultPolicy: XdsServicePolicy;
  readonly auth?: ResolvedXdsAuthOptions;
}

function policyOf(
  base: XdsServicePolicy,
  service: z.output<typeof xdsServiceOptionsSchema> | undefined,
): XdsServicePolicy {
  return Object.freeze({
    lbPolicy: service?.lbPolicy ?? base.lbPolicy,
    hashHeader: service?.hashHeader,
    routeTimeoutMs: service?.routeTimeout ?? base.routeTimeoutMs,
    connectTimeoutMs: service?.connectTimeout ?? base.connectTimeoutMs,
  });
}

function checkLiveFields(input: XdsServerOptions, root: string): void {
  const issues: ConfigIssue[] = [];
  const source = input.source as Partial<XdsSnapshotSource> | undefined;
  if (typeof source !== 'object' || source === null || typeof source.watch !== 'function') {
    issues.push({ path: `${root}.source`, message: 'expected an XdsSnapshotSource: an object with watch(listener)' });
  }
  const clock = input.clock as Partial<Clock> | undefined;
  if (clock !== undefined && (typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function')) {
    issues.push({ path: `${root}.clock`, message: 'expected a Clock: now() and setTimeout()' });
  }
  if (input.logger !== undefined && typeof input.logger?.warn !== 'function') {
    issues.push({ path: `${root}.logger`, message: 'expected a logger with warn(fields, message)' });
  }
  if (input.onEvent !== undefined && typeof input.onEvent !== 'function') {
    issues.push({ path: `${root}.onEvent`, message: 'expected a function' });
  }
  if (input.onAuthRefused !== undefined && typeof input.onAuthRefused !== 'function') {
    issues.push({ path: `${root}.onAuthRefused`, message: 'expected a function' });
  }
  if (issues.length > 0) throw invalidConfig(issues);
}

/**
 * Validates and completes {@link XdsServerOptions} (the data fields; the live objects are checked
 * and left as they are).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`xds.port: ...`)
 * @example
 * ```ts
 * const resolved = resolveXdsServerOptions({ source, port: 0, services: { greeter: { lbPolicy: 'ring_hash' } } });
 * resolved.services?.get('greeter')?.lbPolicy; // 'ring_hash'
 * ```
 */
export function resolveXdsServerOptions(input: XdsServerOptions, root = 'xds'): ResolvedXdsServerOptions {
  if (typeof input !== 'object' || input === null) {
    throw invalidConfig([{ path: root, message: 'expected an options object with a source' }]);
  }
  checkLiveFields(input, root);
  const { source: _s, clock: _c, logger: _l, onEvent: _e, onAuthRefused: _a, ...data } = input;
  const o = resolveOptions(Array.isArray(data.services) ? listSchema : recordSchema, data, root);
  const defaultPolicy = policyOf(
    { lbPolicy: o.lbPolicy, routeTimeoutMs: o.routeTimeout, connectTimeoutMs: o.connectTimeout },
    undefined,
  );
  let services: Map<string, XdsServicePolicy> | undefined;
  if (Array.isArray(o.services)) {
    services = new Map(o.services.map((name) => [name, defaultPolicy]));
  } else if (o.services !== undefined) {
    const record = o.services as Readonly<Record<string, z.output<typeof xdsServiceOptionsSchema>>>;
    services = new Map(Object.entries(record).map(([name, s]) => [name, policyOf(defaultPolicy, s)]));
  }
  return Object.freeze({
    host: o.host,
    port: o.port,
    debounceMs: o.debounce,
    shutdownTimeoutMs: o.shutdownTimeout,
    services,
    defaultPolicy,
    ...(o.auth === undefined ? {} : { auth: o.auth }),
  });
}
