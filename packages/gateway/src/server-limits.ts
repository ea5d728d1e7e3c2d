import { zDuration } from '@switchyard/core';
import * as z from 'zod';

/**
 * Schema of `gateway.server`: the limits of the node:http server that faces clients. They bound
 * what a slow or hostile client can hold: `headersTimeout` ends slow-header attacks (slowloris),
 * `requestTimeout` bounds a whole request, `maxHeaderSize` refuses oversized headers (431).
 * Durations accept `"250ms"`, `"5s"` or milliseconds and come out as milliseconds.
 *
 * @example
 * ```ts
 * serverLimitsSchema.parse({ headersTimeout: '10s' });
 * // { headersTimeout: 10000, requestTimeout: 300000, keepAliveTimeout: 5000, maxHeaderSize: 16384, maxRequestsPerSocket: 0 }
 * ```
 */
export const serverLimitsSchema = z
  .strictObject({
    /**
     * Time a client has to send the complete request headers; past it the connection gets a 408
     * and is closed. `0` disables it (not advised: slow-header attacks then hold sockets forever).
     * @default 20s
     */
    headersTimeout: zDuration().default(20_000),
    /**
     * Time a client has to send the whole request, body included; `0` disables it.
     * @default 5m
     */
    requestTimeout: zDuration().default(300_000),
    /**
     * How long an idle keep-alive connection stays open after a response.
     * @default 5s
     */
    keepAliveTimeout: zDuration().default(5_000),
    /**
     * The most bytes of request line and headers accepted; more is a 431.
     * @default 16384
     */
    maxHeaderSize: z
      .number({ error: 'expected a number of bytes' })
      .int('expected a whole number of bytes')
      .min(1024, 'expected at least 1024 bytes')
      .max(1_048_576, 'expected at most 1048576 bytes (1 MiB)')
      .default(16_384),
    /**
     * Requests served on one keep-alive connection before it is closed; `0` means no limit.
     * @default 0
     */
    maxRequestsPerSocket: z
      .number({ error: 'expected a number of requests' })
      .int('expected a whole number of requests')
      .nonnegative('expected 0 (no limit) or more')
      .default(0),
  })
  .superRefine((limits, ctx) => {
    // node:http refuses the same combination at start-up; saying it here names the field.
    if (limits.requestTimeout > 0 && limits.headersTimeout > limits.requestTimeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['headersTimeout'],
        message: `must not exceed requestTimeout (${limits.requestTimeout}ms), got ${limits.headersTimeout}ms`,
      });
    }
  });

/** `gateway.server` as written. */
export type ServerLimitsOptions = z.input<typeof serverLimitsSchema>;
/** `gateway.server` after validation: durations in milliseconds, `maxHeaderSize` in bytes. */
export type ResolvedServerLimits = z.output<typeof serverLimitsSchema>;

/**
 * How often node:http checks connections for `headersTimeout` and `requestTimeout`. Node
 * checks every 30 s by default, so a 300 ms `headersTimeout` would really be up to 30 s; a
 * quarter of the shorter timeout keeps the overshoot small, between 50 ms and 30 s.
 *
 * @example
 * ```ts
 * connectionsCheckingIntervalFor({ headersTimeout: 20_000, requestTimeout: 300_000 }); // 5000
 * ```
 */
export function connectionsCheckingIntervalFor(
  limits: Pick<ResolvedServerLimits, 'headersTimeout' | 'requestTimeout'>,
): number {
  const timeouts = [limits.headersTimeout, limits.requestTimeout].filter((ms) => ms > 0);
  if (timeouts.length === 0) return 30_000;
  return Math.min(30_000, Math.max(50, Math.floor(Math.min(...timeouts) / 4)));
}
