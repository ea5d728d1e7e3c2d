import { resolveOptions, zDuration, zPort } from '@switchyard/core';
import * as z from 'zod';

/** Schema for the environment-independent part of {@link StartServiceOptions}. */
export const serviceOptionsSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected letters, digits, "-", "_" or "."'),
  id: z.string().min(1).max(256).optional(),
  host: z.string().min(1).default('127.0.0.1'),
  port: zPort().default(0),
  /** Address advertised to the registry; defaults to `host` (or 127.0.0.1 when host is a wildcard). */
  advertiseAddress: z.string().min(1).optional(),
  registry: z.url({ protocol: /^https?$/ }).optional(),
  tags: z.array(z.string()).default([]),
  meta: z.record(z.string(), z.string()).default({}),
  healthPath: z.string().startsWith('/').default('/health'),
  check: z
    .strictObject({
      interval: zDuration().default(1000),
      timeout: zDuration().default(1000),
      deregisterCriticalAfter: zDuration().default(60_000),
    })
    .prefault({}),
  registrationTimeout: zDuration().default(30_000),
  shutdownTimeout: zDuration().default(10_000),
  handleSignals: z.boolean().default(true),
});

/** Validated service options; durations in milliseconds. */
export type ResolvedServiceOptions = z.output<typeof serviceOptionsSchema>;

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
  const fromEnv: Record<string, unknown> = {};
  if (env.PORT !== undefined && env.PORT !== '') fromEnv.port = /^\d+$/.test(env.PORT) ? Number(env.PORT) : env.PORT;
  if (env.SWITCHYARD_HOST) fromEnv.host = env.SWITCHYARD_HOST;
  if (env.SWITCHYARD_REGISTRY_URL) fromEnv.registry = env.SWITCHYARD_REGISTRY_URL;
  if (env.SWITCHYARD_INSTANCE_ID) fromEnv.id = env.SWITCHYARD_INSTANCE_ID;
  const merged: Record<string, unknown> = { ...fromEnv };
  for (const [key, value] of Object.entries(input)) if (value !== undefined) merged[key] = value;
  return resolveOptions(serviceOptionsSchema, merged, 'service');
}
