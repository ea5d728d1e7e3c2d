import { zDuration } from '@switchyard/core';
import { registryOptionsSchema } from '@switchyard/discovery';
import { gatewayOptionsSchema } from '@switchyard/gateway';
import * as z from 'zod';
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
});

/** The whole `switchyard.yaml`, composed from each package's own schema. */
export const switchyardConfigSchema = z.strictObject({
  version: z.union([z.string(), z.number()]),
  /** A name for the system, shown in the status table. */
  name: z.string().min(1).default('switchyard'),
  /** Where services keep their data, relative to the config file. */
  dataDir: z.string().min(1).default('.data'),
  /** How long `up` waits for every instance to turn healthy. */
  startupTimeout: zDuration().default(30_000),
  /** How long each instance may take to stop on shutdown before it is killed. */
  shutdownTimeout: zDuration().default(15_000),
  registry: registryOptionsSchema.prefault({}),
  gateway: gatewayOptionsSchema,
  services: z
    .record(
      z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a service name of letters, digits, "-", "_", "."'),
      serviceProcessSchema,
    )
    .default({}),
  /** Tracing and metrics for `up`'s embedded components, `OTEL_*` for services; absent = off. */
  telemetry: upTelemetrySchema.optional(),
});

/** `switchyard.yaml` as written (before defaults). */
export type SwitchyardConfigInput = z.input<typeof switchyardConfigSchema>;
/** `switchyard.yaml` validated, with defaults applied and durations in milliseconds. */
export type SwitchyardConfig = z.output<typeof switchyardConfigSchema>;
/** One entry of `services:` after validation. */
export type ServiceProcessConfig = z.output<typeof serviceProcessSchema>;
