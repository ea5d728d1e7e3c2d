import { zDuration } from '@switchyard/core';
import * as z from 'zod';

// The rate limiter's options that need nothing from the request context, shared by the code
// schema (`rateLimitOptionsSchema`) and the config entry (`rateLimit:` in `middleware:` lists),
// which must not depend on the context type.

/** A key named by a string: `ip`, `api-key`, `jwt-sub` or `header:<name>`. */
export const namedKeySchema = z.union([
  z.enum(['ip', 'api-key', 'jwt-sub']),
  z
    .string()
    .regex(/^header:[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, {
      message: 'expected "ip", "api-key", "jwt-sub", "header:<name>" or a function (ctx) => string',
    })
    .transform((v) => v as `header:${string}`),
]);

/** The fields of the rate limiter's options that code and config share. */
export const rateLimitFields = {
  /** Requests admitted per `period`, the sustained rate. */
  limit: z.number().int().min(1),
  /** The period `limit` counts over: `"1s"`, `"1m"`, `"1h"` or milliseconds. */
  period: zDuration().refine((ms) => ms > 0, { message: 'expected a duration > 0, such as "1m"' }),
  /** Requests that may pass at once from a fresh key. @default limit */
  burst: z.number().int().min(1).optional(),
  /** Names of the routes limited; the others pass untouched. @default every route */
  routes: z.array(z.string().min(1)).min(1).optional(),
  /**
   * When the store fails (Redis unreachable): `'open'` admits the request and logs a warning
   * once per outage; `'closed'` answers 503 `SY_GATEWAY_RATE_LIMIT_UNAVAILABLE`. @default 'open'
   */
  onStoreError: z.enum(['open', 'closed']).default('open'),
  /**
   * Response headers: `'draft'` sends `RateLimit-Limit`, `RateLimit-Remaining`,
   * `RateLimit-Reset` (seconds); `'ietf'` the combined `RateLimit` and `RateLimit-Policy`
   * fields of the IETF draft; `'none'` neither (429s still carry `Retry-After`). @default 'draft'
   */
  headers: z.enum(['draft', 'ietf', 'none']).default('draft'),
  /** The policy name in `RateLimit`/`RateLimit-Policy` (`'ietf'` headers). @default 'default' */
  policy: z
    .string()
    .regex(/^[A-Za-z*][A-Za-z0-9_\-.:%*/]*$/, { message: 'expected an sf-token such as "default"' })
    .default('default'),
};
