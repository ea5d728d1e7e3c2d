import { registryConfigSchema } from '@switchyard/backends';
import { zDuration, zPort } from '@switchyard/core';
import { adminAuthOptionsSchema, gatewayOptionsSchema, requireAdminAuthWhenExposed } from '@switchyard/gateway';
import { xdsServerOptionsSchema } from '@switchyard/mesh';
import * as z from 'zod';
import { restartOptionsSchema } from './restart-policy.ts';
import { dependencyIssues } from './start-order.ts';
import { mtlsConfigIssues, upMtlsSchema } from './system-mtls.ts';
import { upTelemetrySchema } from './telemetry-config.ts';

/** The config format version this build understands (`version: 1`, `version: "1.0"`). */
export const CONFIG_VERSION = { major: 1, minor: 0 } as const;

const commandSchema = z.union([
  z.string().trim().min(1, 'expected a command such as "node src/main.ts"'),
  z.array(z.string().min(1)).min(1, 'expected at least the program to run'),
]);

/** One service that `switchyard up` runs as child processes. */
export const serviceProcessSchema = z.strictObject({
  /** Program and arguments, as a list or a space-separated string (no shell). `node` means this Node. */
  command: commandSchema,
  /** Working directory, relative to the config file. @default the config file's directory */
  cwd: z.string().min(1).optional(),
  /** Extra environment for every instance. Values are strings (quote numbers in YAML). */
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string())
    .default({}),
  /** How many instances to run. */
  replicas: z.number().int().min(1).max(64).default(1),
  /** Services whose every instance must be healthy before this one starts; stopped after it. */
  dependsOn: z.array(z.string().min(1, 'expected a service name')).default([]),
  /** Restarting instances that exit: policy, backoff and crash-loop detection. */
  restart: restartOptionsSchema.prefault({}),
});

const backendUrl = (schemes: readonly string[], example: string) =>
  z
    .string()
    .trim()
    .refine((v) => schemes.some((scheme) => v.toLowerCase().startsWith(`${scheme}:`)), {
      message: `expected a URL starting with ${schemes.map((s) => `${s}:`).join(', ')}, such as "${example}"`,
    });

/** `sagas:`: where saga state lives; every instance gets it as `SWITCHYARD_SAGA_STORE`. */
export const sagasConfigSchema = z.strictObject({
  /** `sqlite:<file>` (relative to `dataDir`) or `postgres://user@host:port/db`. */
  store: backendUrl(['sqlite', 'postgres', 'postgresql'], 'sqlite:sagas.sqlite').default('sqlite:sagas.sqlite'),
});

/** `events:`: the event bus; every instance gets it as `SWITCHYARD_EVENT_BUS`. */
export const eventsConfigSchema = z.strictObject({
  /** `sqlite:<file>` (relative to `dataDir`), `nats://host:port` or `amqp://user:pass@host:port`. */
  bus: backendUrl(['sqlite', 'nats', 'amqp', 'amqps'], 'sqlite:bus.sqlite').default('sqlite:bus.sqlite'),
});

/** `admin:`: the system's admin API, metrics and dashboard, served by `switchyard up`. */
export const systemAdminConfigSchema = z
  .strictObject({
    /** Interface to listen on; anything but loopback requires authentication. @default "127.0.0.1" */
    host: z.string().min(1, 'must not be empty').default('127.0.0.1'),
    /** Port; `0` picks a free one. @default 9000 */
    port: zPort().default(9000),
    /** Bearer tokens (`read` or `write` scope); required when `host` is not a loopback address. */
    auth: adminAuthOptionsSchema.optional(),
  })
  .superRefine((admin, ctx) => requireAdminAuthWhenExposed(admin, ctx, 'the system admin API'));

/** The fields of `switchyard.yaml`, composed from each package's own schema. */
const switchyardConfigObject = z.strictObject({
  version: z.union([z.string(), z.number()]),
  /** A name for the system, shown in the status table. */
  name: z.string().min(1).default('switchyard'),
  /** Where services keep their data, relative to the config file. */
  dataDir: z.string().min(1).default('.data'),
  /** How long `up` waits for every instance to turn healthy. */
  startupTimeout: zDuration().default(30_000),
  /** How long each instance may take to stop on shutdown before it is killed. */
  shutdownTimeout: zDuration().default(15_000),
  /**
   * The registry: `backend: embedded` (the default; `host`, `port` of its Consul-compatible API),
   * `consul` (`url`, `token`), `etcd` (`url`, `prefix`, `leaseTtl`) or `kubernetes` (`namespace`,
   * `port`, `addressType`; discovery only, so `up` refuses it).
   */
  registry: registryConfigSchema.prefault({}),
  gateway: gatewayOptionsSchema,
  services: z
    .record(
      z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a service name of letters, digits, "-", "_", "."'),
      serviceProcessSchema,
    )
    .superRefine((services, ctx) => {
      for (const issue of dependencyIssues(services))
        ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
    })
    .default({}),
  /** Saga store shared by the services (absent: the dashboard and `switchyard saga` have no sagas to show). */
  sagas: sagasConfigSchema.optional(),
  /** Event bus shared by the services. */
  events: eventsConfigSchema.optional(),
  /** The admin API, metrics and dashboard of `up`; `false` runs none. */
  admin: z.union([z.literal(false), systemAdminConfigSchema]).default({ host: '127.0.0.1', port: 9000 }),
  /**
   * An xDS control plane (ADS over gRPC) that `up` runs beside the registry, serving its services
   * to Envoy and proxyless gRPC clients; absent = none. Off loopback it needs `auth`.
   */
  xds: xdsServerOptionsSchema.optional(),
  /** Tracing and metrics for `up`'s embedded components, `OTEL_*` for services; absent = off. */
  telemetry: upTelemetrySchema.optional(),
  /**
   * Mutual TLS between the gateway and the services, and between services: `true`, or
   * `trustDomain`, `namespace`, certificate `ttl`, `renewAt` and per-service `allow` rules.
   * `up` runs a local CA under `dataDir` and hands each instance its certificate; absent = off.
   */
  mtls: upMtlsSchema.optional(),
});

/** The whole `switchyard.yaml`: its fields, then the checks spanning sections (`mtls.allow` names services). */
export const switchyardConfigSchema = switchyardConfigObject.superRefine((config, ctx) => {
  for (const issue of mtlsConfigIssues(config))
    ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
});

/** `switchyard.yaml` as written (before defaults). */
export type SwitchyardConfigInput = z.input<typeof switchyardConfigSchema>;
/** `switchyard.yaml` validated, with defaults applied and durations in milliseconds. */
export type SwitchyardConfig = z.output<typeof switchyardConfigSchema>;
/** One entry of `services:` after validation. */
export type ServiceProcessConfig = z.output<typeof serviceProcessSchema>;
