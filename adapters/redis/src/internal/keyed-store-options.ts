/**
 * The options every Redis store keyed by a prefix takes (the rate-limit and rollout stores):
 * where Redis is (`url` or a caller's `client`), the key prefix and the command timeout, each
 * store with its own defaults.
 */
import { configIssues, invalidConfig, zDuration } from '@switchyard/core';
import type { Redis } from 'ioredis';
import * as z from 'zod';
import { DEFAULT_REDIS_URL } from '../options.ts';
import { redisClientSchema, redisUrlSchema, refineUrlOrClient } from './connection.ts';

/** A store's defaults. */
export interface KeyedStoreDefaults {
  readonly keyPrefix: string;
  /** Milliseconds; also shown in the error for a bad value. */
  readonly commandTimeoutMs: number;
  /** `commandTimeout` as the error message suggests it (`"500ms"`). */
  readonly commandTimeoutExample: string;
}

/** The strict schema of a keyed store's options with `defaults`. */
export function keyedStoreOptionsSchema(defaults: KeyedStoreDefaults) {
  return z
    .strictObject({
      /** Where Redis listens; not together with `client`. @default 'redis://127.0.0.1:6379' */
      url: redisUrlSchema,
      /** An ioredis client to use instead of connecting to `url`; the store never closes it. */
      client: redisClientSchema,
      /** Prefix of every key the store writes. */
      keyPrefix: z.string().min(1).default(defaults.keyPrefix),
      /**
       * How long a command waits for Redis before failing with `SY_REDIS_TIMEOUT` (applies to
       * the connection the store opens; a passed-in `client` keeps its own `commandTimeout`).
       */
      commandTimeout: zDuration()
        .refine((ms) => ms > 0, { message: `expected a duration > 0, such as "${defaults.commandTimeoutExample}"` })
        .default(defaults.commandTimeoutMs),
    })
    .superRefine(refineUrlOrClient);
}

/** A keyed store's options with every default applied, durations in milliseconds. */
export interface ResolvedKeyedStoreOptions {
  /** The URL connected to; `undefined` when `client` was given. */
  readonly url: string | undefined;
  /** The client passed in, if any (not frozen: it stays the caller's). */
  readonly client: Redis | undefined;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
}

/**
 * Validates `input` against `schema` and completes it.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field under `root`
 */
export function resolveKeyedStoreOptions(
  schema: ReturnType<typeof keyedStoreOptionsSchema>,
  input: unknown,
  root: string,
): ResolvedKeyedStoreOptions {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(schema, result.error, root));
  const { client, url, keyPrefix, commandTimeout } = result.data;
  return Object.freeze({
    url: client === undefined ? (url ?? DEFAULT_REDIS_URL) : undefined,
    client,
    keyPrefix,
    commandTimeoutMs: commandTimeout,
  });
}
