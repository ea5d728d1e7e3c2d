import { configIssues, invalidConfig } from '@switchyard/core';
import * as z from 'zod';
import type { GatewayContext } from '../middleware.ts';
import type { GatewayLogger } from '../ports.ts';
import { namedKeySchema, rateLimitFields } from './fields.ts';
import type { RateLimitStore } from './gcra.ts';

/** What a request is counted by: a built-in source, or a function of the context. */
export type RateLimitKey =
  | 'ip'
  | 'api-key'
  | 'jwt-sub'
  | `header:${string}`
  | ((ctx: GatewayContext) => string | undefined);

const isStore = (value: unknown): value is RateLimitStore =>
  typeof value === 'object' && value !== null && typeof (value as RateLimitStore).consume === 'function';

const isLogger = (value: unknown): value is GatewayLogger =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as GatewayLogger).warn === 'function' &&
  typeof (value as GatewayLogger).error === 'function';

const keySchema = z.union([
  namedKeySchema,
  z.custom<(ctx: GatewayContext) => string | undefined>((v) => typeof v === 'function'),
]);

/**
 * The options of `rateLimit()`, as a strict zod schema. An unknown field is an error naming
 * the closest known one.
 */
export const rateLimitOptionsSchema = z.strictObject({
  ...rateLimitFields,
  /** What requests are counted by. @default 'ip' */
  key: keySchema.default('ip'),
  /**
   * `'route'`: each route has its own quota per key; `'gateway'`: one quota per key across
   * every route this middleware runs on. @default 'route'
   */
  scope: z.enum(['route', 'gateway']).default('route'),
  /** Where quotas live. @default an in-memory store for this gateway */
  store: z
    .custom<RateLimitStore>(isStore, { message: 'expected a RateLimitStore (an object with consume())' })
    .optional(),
  /** Where the fail-open warning goes. @default nothing is logged */
  logger: z.custom<GatewayLogger>(isLogger, { message: 'expected a logger with warn() and error()' }).optional(),
});

/** What `rateLimit()` accepts. Durations take `"250ms"`, `"1m"` or milliseconds. */
export type RateLimitOptions = z.input<typeof rateLimitOptionsSchema>;

/** {@link RateLimitOptions} with every default applied, the period in milliseconds. */
export interface ResolvedRateLimitOptions {
  readonly limit: number;
  readonly periodMs: number;
  readonly burst: number;
  readonly key: RateLimitKey;
  readonly scope: 'route' | 'gateway';
  readonly routes: readonly string[] | undefined;
  readonly store: RateLimitStore | undefined;
  readonly onStoreError: 'open' | 'closed';
  readonly headers: 'draft' | 'ietf' | 'none';
  readonly policy: string;
  readonly logger: GatewayLogger | undefined;
}

/**
 * Validates and completes `rateLimit()`'s options.
 *
 * @param root - path prefix in error messages @default 'gateway.rateLimit'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`gateway.rateLimit.limit: ...`)
 * @example
 * ```ts
 * resolveRateLimitOptions({ limit: 100, period: '1m' }).periodMs; // 60000
 * ```
 */
export function resolveRateLimitOptions(input: RateLimitOptions, root = 'gateway.rateLimit'): ResolvedRateLimitOptions {
  const result = rateLimitOptionsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(rateLimitOptionsSchema, result.error, root));
  const v = result.data;
  // Frozen shallowly: deep-freezing would freeze the caller's store and logger.
  return Object.freeze({
    limit: v.limit,
    periodMs: v.period,
    burst: v.burst ?? v.limit,
    key: v.key,
    scope: v.scope,
    routes: v.routes === undefined ? undefined : Object.freeze([...v.routes]),
    store: v.store,
    onStoreError: v.onStoreError,
    headers: v.headers,
    policy: v.policy,
    logger: v.logger,
  });
}
