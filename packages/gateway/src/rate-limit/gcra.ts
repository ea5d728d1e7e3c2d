/**
 * The Generic Cell Rate Algorithm (GCRA), the rate limiter's one piece of arithmetic. The
 * memory store calls it; the Redis store's Lua script mirrors it line for line.
 *
 * A key keeps one number, its theoretical arrival time (TAT): the instant at which its quota
 * would be full again had no request arrived. Each admitted unit pushes the TAT one emission
 * interval `T = periodMs / limit` further; a request is admitted while the pushed TAT stays
 * within `burst × T` of now. So, starting full, `burst` units pass at once and then one more
 * every `T`: a token bucket of capacity `burst` refilled at `limit` per `period`, kept in one
 * number and without a timer.
 *
 * Quota semantics: with `burst = limit` (the default) and requests fired together, exactly
 * `limit` are admitted, because unit `n` pushes the TAT to `now + n × T` and
 * `n × T <= limit × T` holds for `n <= limit` only. Over a long period (1000 per hour, `T` =
 * 3.6 s) almost nothing refills while a burst is being decided, so "1000 of 5000 fired at once"
 * admits exactly 1000.
 */

/** What one decision asks for. */
export interface RateLimitRequest {
  /** Units admitted per `periodMs`, the sustained rate. An integer >= 1. */
  readonly limit: number;
  /** The period `limit` is counted over, in milliseconds (> 0). */
  readonly periodMs: number;
  /** Units that may pass at once when the key is fresh. @default limit */
  readonly burst?: number;
  /** Units this request takes. @default 1 */
  readonly cost?: number;
}

/** The answer for one request. */
export interface RateLimitDecision {
  /** Whether the request was admitted (and its cost taken). */
  readonly allowed: boolean;
  /** Units that could still pass right now, after this request; `0` when denied. */
  readonly remaining: number;
  /** Milliseconds until the key is full again (`burst` units available); `0` when it is. */
  readonly resetMs: number;
  /** When denied, milliseconds until this request would be admitted; `0` when allowed. */
  readonly retryAfterMs: number;
}

/**
 * Port of the gateway's rate limiter: decides one request against a key's quota, atomically.
 * The in-memory store (`createMemoryRateLimitStore`) serves one gateway; a shared store (the
 * Redis adapter's `createRedisRateLimitStore`) serves many, so the quota is the fleet's.
 *
 * Implementations keep GCRA semantics (see {@link gcra}) and reject when they cannot decide
 * (the middleware then fails open or closed as configured).
 *
 * @example
 * ```ts
 * const decision = await store.consume('route:orders:ip:10.0.0.7', { limit: 100, periodMs: 60_000 });
 * if (!decision.allowed) console.log(`retry in ${decision.retryAfterMs} ms`);
 * ```
 */
export interface RateLimitStore {
  consume(key: string, request: RateLimitRequest): Promise<RateLimitDecision>;
}

/** The result of {@link gcra}: the decision and the TAT to store (`undefined`: leave it). */
export interface GcraStep {
  readonly decision: RateLimitDecision;
  /** The new TAT to store, in microseconds, when admitted; `undefined` when denied (a denial writes nothing). */
  readonly tatUs: number | undefined;
}

/**
 * The emission interval in whole microseconds (at least 1): `periodMs / limit`, rounded.
 *
 * The arithmetic is done in integer microseconds so that it is exact: with a fractional
 * interval, `now + n × T` summed in floating point drifts by a few ulps of `now` (about
 * 0.2 µs at today's epoch milliseconds) and could deny the last unit of a burst. Rounding the
 * interval instead changes the rate by under 0.5 µs per unit, and the tolerance is built from
 * the same rounded interval, so a burst is still exactly `burst`. Redis's `TIME` gives
 * microseconds too, and today's epoch in microseconds (~1.8e15) is an exact double.
 *
 * @example
 * ```ts
 * emissionIntervalUs({ limit: 3, periodMs: 1000 }); // 333333
 * ```
 */
export function emissionIntervalUs(request: RateLimitRequest): number {
  return Math.max(1, Math.round((request.periodMs * 1000) / request.limit));
}

/**
 * One GCRA decision. `tatUs` is the key's stored theoretical arrival time (`undefined` for a
 * fresh key), `nowUs` the current time, both in integer microseconds; the decision is in
 * milliseconds (`resetMs` and `retryAfterMs` rounded up).
 *
 * @throws RangeError when `cost` exceeds `burst` (such a request could never pass)
 * @example
 * ```ts
 * const first = gcra(undefined, 0, { limit: 2, periodMs: 1000 });
 * first.decision; // { allowed: true, remaining: 1, resetMs: 500, retryAfterMs: 0 }
 * gcra(first.tatUs, 0, { limit: 2, periodMs: 1000 }).decision.remaining; // 0
 * ```
 */
export function gcra(tatUs: number | undefined, nowUs: number, request: RateLimitRequest): GcraStep {
  const burst = request.burst ?? request.limit;
  const cost = request.cost ?? 1;
  if (cost > burst) throw new RangeError(`rate limit: cost ${cost} exceeds burst ${burst}; it could never pass`);
  const interval = emissionIntervalUs(request);
  const tolerance = burst * interval;
  const base = tatUs === undefined || tatUs < nowUs ? nowUs : tatUs;
  const next = base + cost * interval;
  const ahead = next - nowUs;
  if (ahead <= tolerance) {
    return {
      decision: {
        allowed: true,
        remaining: Math.floor((tolerance - ahead) / interval),
        resetMs: Math.ceil(ahead / 1000),
        retryAfterMs: 0,
      },
      tatUs: next,
    };
  }
  return {
    decision: {
      allowed: false,
      remaining: Math.floor((tolerance - (base - nowUs)) / interval),
      resetMs: Math.ceil((base - nowUs) / 1000),
      // At `next - tolerance` the pushed TAT fits again.
      retryAfterMs: Math.ceil((ahead - tolerance) / 1000),
    },
    tatUs: undefined,
  };
}
