import type { ServerResponse } from 'node:http';
import { isSwitchyardError } from '@switchyard/core';
import { activeSpan, RateLimitDecision as DecisionLabel, globalMetrics } from '@switchyard/telemetry';
import { gatewayError } from '../errors.ts';
import { GatewayAttributes, GatewayEvents } from '../gateway-telemetry.ts';
import { normalizeAddress } from '../headers.ts';
import type { GatewayContext, GatewayMiddleware } from '../middleware.ts';
import type { RateLimitDecision, RateLimitRequest } from './gcra.ts';
import { createMemoryRateLimitStore } from './memory-store.ts';
import { type RateLimitKey, type RateLimitOptions, resolveRateLimitOptions } from './options.ts';

/** The client address: the peer, or the last `X-Forwarded-For` hop when the peer is a trusted proxy. */
function clientIp(ctx: GatewayContext): string | undefined {
  if (ctx.trustedPeer) {
    const forwarded = ctx.req.headers['x-forwarded-for'];
    const raw = Array.isArray(forwarded) ? forwarded.join(',') : forwarded;
    if (raw !== undefined) {
      // The right-most entry is the address the trusted proxy itself saw; entries further
      // left were written by the client and cannot be trusted for a quota.
      const last = raw.slice(raw.lastIndexOf(',') + 1).trim();
      if (last !== '') return normalizeAddress(last);
    }
  }
  return ctx.clientAddress;
}

/** Builds the function that names a request's quota (before the route part). */
function keyReader(key: RateLimitKey): (ctx: GatewayContext) => string {
  const byIp = (ctx: GatewayContext) => `ip:${clientIp(ctx) ?? 'unknown'}`;
  if (typeof key === 'function') {
    return (ctx) => {
      const value = key(ctx);
      return value === undefined || value === '' ? byIp(ctx) : `fn:${value}`;
    };
  }
  if (key === 'ip') return byIp;
  // Requests without the identity or header share the per-IP quota instead of one global one.
  if (key === 'api-key') {
    return (ctx) => {
      const id = ctx.identity?.apiKeyId;
      return id === undefined ? byIp(ctx) : `key:${id}`;
    };
  }
  if (key === 'jwt-sub') {
    return (ctx) => {
      const sub = ctx.identity?.subject;
      return sub === undefined ? byIp(ctx) : `sub:${sub}`;
    };
  }
  const header = key.slice('header:'.length).toLowerCase();
  return (ctx) => {
    const raw = ctx.req.headers[header];
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    return value === undefined || value === '' ? byIp(ctx) : `h:${value}`;
  };
}

/**
 * Rate limiting for the gateway: GCRA (a token bucket of `burst` refilled at `limit` per
 * `period`, see `gcra`), keyed by client IP, API key, JWT subject, a header, or a function.
 * A request over its quota is answered 429 `SY_GATEWAY_RATE_LIMITED` with `Retry-After`
 * (seconds, rounded up); every limited response, admitted or not, carries the `RateLimit`
 * headers chosen by `headers`.
 *
 * The in-memory store serves one gateway process; pass a shared store
 * (`createRedisRateLimitStore` from `@switchyard/adapter-redis`) so several gateways share
 * each quota. When the store fails, `onStoreError` decides: `'open'` admits (and logs once per
 * outage), `'closed'` answers 503 `SY_GATEWAY_RATE_LIMIT_UNAVAILABLE`.
 *
 * Keys are per route unless `scope: 'gateway'`. `'api-key'` and `'jwt-sub'` read
 * `ctx.identity`, so place the limiter after the auth middleware; a request without the
 * identity (or header) is counted by its IP.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options, naming the field (`gateway.rateLimit.limit: ...`)
 * @example
 * ```ts
 * const gateway = await createGateway({
 *   options: { port: 8080, routes: [{ path: '/api/orders', service: 'orders' }] },
 *   discovery,
 *   middleware: [rateLimit({ limit: 100, period: '1m', key: 'ip' })],
 * });
 * ```
 */
export function rateLimit(options: RateLimitOptions): GatewayMiddleware {
  const resolved = resolveRateLimitOptions(options);
  const { onStoreError, headers, policy, logger, scope } = resolved;
  const store = resolved.store ?? createMemoryRateLimitStore();
  const request: RateLimitRequest = { limit: resolved.limit, periodMs: resolved.periodMs, burst: resolved.burst };
  const routes = resolved.routes === undefined ? undefined : new Set(resolved.routes);
  const keyOf = keyReader(resolved.key);
  const quota = String(resolved.burst);
  const policyHeader = `"${policy}";q=${resolved.burst};w=${Math.max(1, Math.ceil(resolved.periodMs / 1000))}`;
  // One warning per outage: set on the first failure, cleared by the next success.
  let failing = false;
  // `switchyard_rate_limit_decisions_total{route, decision}`, resolved when the middleware is built.
  const metrics = globalMetrics();
  const decisions = metrics.rateLimit;

  /** Counts the decision under the route's name and notes it on the request's span. */
  function record(ctx: GatewayContext, decision: DecisionLabel): void {
    if (metrics.enabled) decisions.route(ctx.route.name).record(decision);
    activeSpan()?.setAttribute(GatewayAttributes.RATE_LIMIT_DECISION, decision);
  }

  function setHeaders(res: ServerResponse, decision: RateLimitDecision): void {
    const reset = Math.ceil(decision.resetMs / 1000);
    if (headers === 'draft') {
      res.setHeader('ratelimit-limit', quota);
      res.setHeader('ratelimit-remaining', decision.remaining);
      res.setHeader('ratelimit-reset', reset);
    } else if (headers === 'ietf') {
      res.setHeader('ratelimit-policy', policyHeader);
      res.setHeader('ratelimit', `"${policy}";r=${decision.remaining};t=${reset}`);
    }
  }

  return (next) => async (ctx) => {
    if (routes !== undefined && !routes.has(ctx.route.name)) return next(ctx);
    const key = scope === 'route' ? `${ctx.route.name}|${keyOf(ctx)}` : keyOf(ctx);
    let decision: RateLimitDecision;
    try {
      decision = await store.consume(key, request);
      failing = false;
    } catch (err) {
      record(ctx, DecisionLabel.Error);
      if (onStoreError === 'closed') {
        throw gatewayError(
          'SY_GATEWAY_RATE_LIMIT_UNAVAILABLE',
          'the rate limiter could not reach its store; the request was refused (onStoreError: closed)',
          { cause: err, details: isSwitchyardError(err) ? { storeCode: err.code } : {} },
        );
      }
      activeSpan()?.addEvent(GatewayEvents.RateLimitStoreError, {
        [GatewayAttributes.ERROR_CODE]: isSwitchyardError(err) ? err.code : 'store_error',
      });
      if (!failing) {
        failing = true;
        logger?.warn(
          { err, requestId: ctx.requestId, route: ctx.route.name },
          'rate limiter store failed; admitting requests unlimited until it answers again (onStoreError: open)',
        );
      }
      return next(ctx);
    }
    setHeaders(ctx.res, decision);
    record(ctx, decision.allowed ? DecisionLabel.Allowed : DecisionLabel.Limited);
    if (!decision.allowed) {
      throw gatewayError(
        'SY_GATEWAY_RATE_LIMITED',
        `rate limit of ${resolved.limit} per ${formatPeriod(resolved.periodMs)} exceeded; retry in ${Math.max(1, Math.ceil(decision.retryAfterMs / 1000))}s`,
        { details: { retryAfterMs: decision.retryAfterMs, limit: resolved.limit, periodMs: resolved.periodMs } },
      );
    }
    return next(ctx);
  };
}

function formatPeriod(ms: number): string {
  if (ms % 3_600_000 === 0) return ms === 3_600_000 ? 'hour' : `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return ms === 60_000 ? 'minute' : `${ms / 60_000}m`;
  if (ms % 1000 === 0) return ms === 1000 ? 'second' : `${ms / 1000}s`;
  return `${ms}ms`;
}
