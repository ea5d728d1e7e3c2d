import { invalidConfig, resolveOptions, zDuration, zPort } from '@switchyard/core';
import * as z from 'zod';

const zName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected letters, digits, "-", "_" or "."');

const httpCheckFields = {
  type: z.literal('http'),
  interval: zDuration().default(1000),
  timeout: zDuration().default(1000),
  deregisterCriticalAfter: zDuration().default(60_000),
};

/** A TTL check: the service reports every `heartbeat`; silence for `ttl` turns it critical. */
const ttlCheckSchema = z
  .strictObject({
    type: z.literal('ttl'),
    ttl: zDuration().refine((ms) => ms >= 10, 'expected at least 10ms'),
    heartbeat: zDuration().optional(),
    deregisterCriticalAfter: zDuration().default(60_000),
  })
  .superRefine((check, ctx) => {
    if (check.heartbeat !== undefined && (check.heartbeat <= 0 || check.heartbeat >= check.ttl)) {
      ctx.addIssue({ code: 'custom', path: ['heartbeat'], message: 'expected more than 0 and less than ttl' });
    }
  })
  .transform((check) => ({ ...check, heartbeat: check.heartbeat ?? Math.max(1, Math.floor(check.ttl / 3)) }));

/** A check object without `type` is an HTTP check (the only kind there was at first). */
const withDefaultType = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && !('type' in value) ? { ...value, type: 'http' } : value;

const retrySchema = z
  .strictObject({
    /** First delay between registration attempts (full jitter). */
    initial: zDuration().default(100),
    /** Cap of the delay between registration attempts. */
    max: zDuration().default(5000),
  })
  .prefault({});

/** Fields shared by {@link startService} and {@link registerSelf} options. */
const registrationFields = {
  name: zName,
  id: z.string().min(1).max(256).optional(),
  /**
   * Registry URL; see `resolveServiceOptions` for the environment default. An `http(s)://` URL is
   * registered with directly (Consul API); any other (`etcd://`) needs a `registrationClient`.
   */
  registry: z
    .string()
    .regex(/^[a-z][a-z0-9+.-]*:\/\/\S+$/i, 'expected a registry URL, such as "http://127.0.0.1:8500"')
    .optional(),
  tags: z.array(z.string()).default([]),
  meta: z.record(z.string(), z.string()).default({}),
  /** How often to ask the registry whether it still knows the instance. */
  resyncInterval: zDuration()
    .refine((ms) => ms > 0, 'expected more than 0')
    .default(30_000),
  retry: retrySchema,
  registrationTimeout: zDuration().default(30_000),
  handleSignals: z.boolean().default(true),
};

/** Schema for the environment-independent part of {@link StartServiceOptions}. */
export const serviceOptionsSchema = z
  .strictObject({
    ...registrationFields,
    host: z.string().min(1).default('127.0.0.1'),
    port: zPort().default(0),
    /** Address advertised to the registry; defaults to `host` (or 127.0.0.1 when host is a wildcard). */
    advertiseAddress: z.string().min(1).optional(),
    healthPath: z.string().startsWith('/').default('/health'),
    /** Path of the Prometheus exposition (served when metrics are set up); `false` never serves it. */
    metricsPath: z.union([z.string().startsWith('/'), z.literal(false)]).default('/metrics'),
    check: z
      .preprocess(withDefaultType, z.discriminatedUnion('type', [z.strictObject(httpCheckFields), ttlCheckSchema]))
      .prefault({}),
    shutdownTimeout: zDuration().default(10_000),
  })
  .superRefine((options, ctx) => {
    if (options.metricsPath === options.healthPath) {
      ctx.addIssue({
        code: 'custom',
        path: ['metricsPath'],
        message: `expected a path other than healthPath (${options.healthPath})`,
      });
    }
  });

/** Validated service options; durations in milliseconds. */
export type ResolvedServiceOptions = z.output<typeof serviceOptionsSchema>;

/** Schema for the environment-independent part of {@link RegisterSelfOptions}. */
export const registerSelfOptionsSchema = z.strictObject({
  ...registrationFields,
  address: z.string().min(1),
  port: zPort().refine((port) => port > 0, 'expected the port the service listens on (1-65535)'),
  check: z
    .preprocess(
      withDefaultType,
      z.discriminatedUnion('type', [
        z.strictObject({ ...httpCheckFields, path: z.string().startsWith('/').default('/health') }),
        ttlCheckSchema,
      ]),
    )
    .prefault({}),
});

/** Validated {@link registerSelf} options; durations in milliseconds. */
export type ResolvedRegisterSelfOptions = z.output<typeof registerSelfOptionsSchema>;

/** The registry check of either kind of options, resolved. */
export type ResolvedCheck = ResolvedServiceOptions['check'] | ResolvedRegisterSelfOptions['check'];

function withEnv(input: Record<string, unknown>, env: NodeJS.ProcessEnv, port: boolean): Record<string, unknown> {
  const fromEnv: Record<string, unknown> = {};
  if (port && env.PORT !== undefined && env.PORT !== '') {
    fromEnv.port = /^\d+$/.test(env.PORT) ? Number(env.PORT) : env.PORT;
  }
  if (port && env.SWITCHYARD_HOST) fromEnv.host = env.SWITCHYARD_HOST;
  if (env.SWITCHYARD_REGISTRY_URL) fromEnv.registry = env.SWITCHYARD_REGISTRY_URL;
  if (env.SWITCHYARD_INSTANCE_ID) fromEnv.id = env.SWITCHYARD_INSTANCE_ID;
  const merged: Record<string, unknown> = { ...fromEnv };
  for (const [key, value] of Object.entries(input)) if (value !== undefined) merged[key] = value;
  return merged;
}

/**
 * Reads defaults from the environment `switchyard up` sets (`PORT`, `SWITCHYARD_HOST`,
 * `SWITCHYARD_REGISTRY_URL`, `SWITCHYARD_INSTANCE_ID`), then validates. Explicit options win.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field, e.g. `service.port`
 */
export function resolveServiceOptions(
  input: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<ResolvedServiceOptions> {
  return resolveOptions(serviceOptionsSchema, withEnv(input, env, true), 'service');
}

/**
 * Validates {@link registerSelf} options. `registry` defaults to `SWITCHYARD_REGISTRY_URL` and
 * `id` to `SWITCHYARD_INSTANCE_ID`; `address` and `port` are the caller's (its own server's).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field, e.g. `service.check.ttl`
 */
export function resolveRegisterSelfOptions(
  input: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<ResolvedRegisterSelfOptions> {
  return resolveOptions(registerSelfOptionsSchema, withEnv(input, env, false), 'service');
}

/**
 * The registry URL this package can register with by itself: an `http(s)://` (Consul API) one.
 * Another scheme (`etcd://`, which `switchyard up` passes for etcd) needs a driver, which the
 * caller opens and passes as `registrationClient`.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` at `service.registry` for another scheme
 * @example
 * ```ts
 * consulCompatibleRegistry('http://127.0.0.1:8500'); // 'http://127.0.0.1:8500'
 * consulCompatibleRegistry('etcd://127.0.0.1:2379'); // throws: service.registry: ... registrationClient
 * ```
 */
export function consulCompatibleRegistry(url: string): string {
  if (/^https?:\/\//i.test(url) && URL.canParse(url)) return url;
  throw invalidConfig([
    {
      path: 'service.registry',
      message: `"${url}" is not an http(s) registry URL: open that registry with openRegistryBackend() from @switchyard/backends and pass it as registrationClient`,
    },
  ]);
}
