import { performance } from 'node:perf_hooks';
import type { HttpClient } from '@switchyard/client';
import { cancelledError, invalidConfig } from '@switchyard/core';
import { type Balancer, createBalancer, type InstanceStats, type OutlierDetector } from '@switchyard/discovery';
import { attachDeadline, deadlineOf, resilienceError } from '@switchyard/resilience';
import { gatewayError } from '../errors.ts';
import type { OutgoingHeaders } from '../headers.ts';
import type { GatewayContext, RouteHandler } from '../middleware.ts';
import type { ResolvedRoute } from '../options.ts';
import type { GatewayLogger } from '../ports.ts';
import { toGatewayError } from '../proxy.ts';
import { gatewayRetry } from '../retry-default.ts';
import { readCallBody } from './body.ts';
import { aggregateCallHeaders } from './call-headers.ts';
import type { ResolvedAggregateCall, ResolvedAggregateOptions } from './options.ts';
import {
  type AggregateVerdict,
  type CallOutcome,
  type CallReport,
  CallStatus,
  classifyFailure,
  decideAnswer,
  FailureKind,
} from './outcome.ts';
import { type PlannedCall, planCalls } from './plan.ts';
import { routeParamIssues } from './route-params.ts';
import { runInOrder } from './schedule.ts';
import { renderTemplate } from './template.ts';

/** What an aggregate route needs from the gateway. */
export interface AggregateDeps {
  /** Sends every call: discovery, breaker per service, per-attempt timeout, retry budget. */
  readonly client: HttpClient;
  readonly logger: GatewayLogger;
  /**
   * The gateway's per-instance statistics and outlier detector. Given, each call's service gets
   * a balancer of the route's `balancer` kind fed by them (as proxied routes have), so latency
   * and failures of aggregate calls count towards outlier ejection; absent, the client's own
   * per-service balancer picks.
   */
  readonly stats?: InstanceStats;
  readonly outliers?: OutlierDetector;
  /** The route's config path for error messages (`gateway.routes[3]`). @default `route <name>` */
  readonly at?: string;
}

/** The JSON body of an aggregate answer. */
export interface AggregateBody {
  /** Present when a required call did not succeed: the same shape as every gateway error. */
  readonly error?: { readonly code: string; readonly message: string; readonly requestId: string };
  /** The body of each call that succeeded, by name: parsed JSON, text, or `null` when empty. */
  readonly data: Record<string, unknown>;
  /** Every call's report, by name, in configured order. */
  readonly calls: Record<string, CallReport>;
}

/**
 * The terminal handler of a route with an `aggregate:` section: fans one GET (or HEAD) out to
 * the configured calls through the resilient client, in parallel where they are independent
 * and in sequence where a path reads an earlier call's body, and answers one JSON document
 * `{ data, calls }` (plus `error` when a required call did not succeed; see `decideAnswer` for
 * the status). Other methods get 405 with `Allow: GET, HEAD`.
 *
 * Every call is capped by its own `timeout` and by the aggregate deadline (the aggregate
 * `timeout`, or the route's, further capped by the caller's `switchyard-timeout-ms`); the
 * client forwards what is left of it. A client that goes away aborts every call in flight.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` when a call's `{params.x}` names no route
 *   parameter (the options schema checks everything else)
 * @example
 * ```ts
 * const handler = createAggregateHandler(route, { client, logger, stats, outliers, at: 'gateway.routes[0]' });
 * await handler(ctx); // writes 200 { data: { user: {...}, orders: [...] }, calls: { user: { status: 'ok', ... } } }
 * ```
 */
export function createAggregateHandler(route: ResolvedRoute, deps: AggregateDeps): RouteHandler {
  const aggregate = route.aggregate;
  const at = deps.at ?? `route ${route.name}`;
  if (aggregate === undefined) throw new Error(`${at} has no aggregate section`);
  const plan = planCalls(aggregate.calls);
  const issues = [...(plan.ok ? [] : plan.issues), ...routeParamIssues(aggregate.calls, route.path)];
  if (!plan.ok || issues.length > 0) {
    throw invalidConfig(
      issues.map((i) => ({ path: `${at}.aggregate.calls[${i.index}].${i.field}`, message: i.message })),
    );
  }
  const deadlineMs = aggregate.timeout ?? route.timeoutMs;
  const balancers = new Map<string, Balancer>();
  if (deps.stats !== undefined || deps.outliers !== undefined) {
    for (const call of aggregate.calls) {
      if (balancers.has(call.service)) continue;
      balancers.set(
        call.service,
        createBalancer(route.balancer, {
          ...(deps.stats === undefined ? {} : { stats: deps.stats }),
          ...(deps.outliers === undefined ? {} : { outliers: deps.outliers }),
        }),
      );
    }
  }
  const run = createCallRunner(route, aggregate, deps, balancers);

  return async (ctx) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.res.setHeader('allow', 'GET, HEAD');
      throw gatewayError(
        'SY_GATEWAY_METHOD_NOT_ALLOWED',
        `route ${route.name} aggregates calls and serves GET and HEAD only, not ${ctx.method}`,
        { details: { method: ctx.method, route: route.name } },
      );
    }
    const budget = deadlineOf(ctx.signal);
    const own = deadlineMs > 0 ? Date.now() + deadlineMs : undefined;
    const deadline = own === undefined ? budget : budget === undefined ? own : Math.min(own, budget);
    const request: AggregateRequest = {
      ctx,
      deadline,
      deadlineFromBudget: deadline !== undefined && deadline === budget && deadline !== own,
      query: new URLSearchParams(ctx.query.startsWith('?') ? ctx.query.slice(1) : ctx.query),
      headers: aggregateCallHeaders(ctx.req.headers, aggregate.forwardHeaders, {
        requestId: ctx.requestId,
        clientAddress: ctx.clientAddress,
        trusted: ctx.trustedPeer,
        protocol: (ctx.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      }),
    };
    const results = await runInOrder<PlannedCall<ResolvedAggregateCall>, CallOutcome>(plan.calls, (entry, done) =>
      run(entry, done, request),
    );
    if (ctx.signal.aborted) throw cancelledError(ctx.signal, `aggregate route ${route.name}`);
    const outcomes = aggregate.calls.map((call) => results.get(call.name) as CallOutcome);
    const verdict = decideAnswer(outcomes);
    log(deps.logger, route, ctx, verdict, outcomes);
    send(ctx, verdict, outcomes);
  };
}

/** One incoming request, as every call of it sees it. */
interface AggregateRequest {
  readonly ctx: GatewayContext;
  /** Absolute ms (`Date.now()` clock) when every call must be done, or `undefined` for none. */
  readonly deadline: number | undefined;
  /** Whether the caller's `switchyard-timeout-ms` budget, not the aggregate `timeout`, set the deadline. */
  readonly deadlineFromBudget: boolean;
  readonly query: URLSearchParams;
  readonly headers: OutgoingHeaders;
}

type CallRunner = (
  entry: PlannedCall<ResolvedAggregateCall>,
  done: ReadonlyMap<string, CallOutcome>,
  request: AggregateRequest,
) => Promise<CallOutcome>;

function createCallRunner(
  route: ResolvedRoute,
  aggregate: ResolvedAggregateOptions,
  deps: AggregateDeps,
  balancers: ReadonlyMap<string, Balancer>,
): CallRunner {
  return async (entry, done, request) => {
    const { call } = entry;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const outcome = (report: Omit<CallReport, 'durationMs'>, extra: Partial<CallOutcome> = {}): CallOutcome => ({
      name: call.name,
      required: call.required,
      report: { ...report, durationMs: elapsed() },
      ...extra,
    });
    const skipped = (message: string, kind: FailureKind, retryAfter?: number): CallOutcome =>
      outcome(
        { status: CallStatus.Skipped, error: { code: 'SY_GATEWAY_AGGREGATE_CALL_SKIPPED', message } },
        { kind, ...(retryAfter === undefined ? {} : { retryAfter }) },
      );

    const bodies = new Map<string, unknown>();
    for (const name of entry.dependsOn) {
      const dependency = done.get(name);
      if (dependency === undefined || dependency.report.status !== CallStatus.Ok) {
        const how =
          dependency?.report.status === CallStatus.Skipped
            ? 'was skipped'
            : dependency?.report.status === CallStatus.Timeout
              ? 'timed out'
              : 'failed';
        return skipped(
          `call "${name}", whose body the path reads, ${how}`,
          dependency?.kind ?? FailureKind.Failed,
          dependency?.retryAfter,
        );
      }
      bodies.set(name, dependency.data);
    }
    const rendered = renderTemplate(entry.template, {
      params: request.ctx.params,
      query: request.query,
      calls: bodies,
    });
    if (!rendered.ok) return skipped(rendered.message, FailureKind.Failed);

    // The call's own timeout, capped by what is left of the aggregate deadline.
    const now = Date.now();
    const remaining = request.deadline === undefined ? undefined : request.deadline - now;
    const own = call.timeout !== undefined && call.timeout > 0 ? call.timeout : undefined;
    if (remaining !== undefined && remaining <= 0) {
      const err = resilienceError(
        'SY_RESILIENCE_DEADLINE_EXCEEDED',
        `the aggregate deadline was spent before call "${call.name}" could start; it was not sent`,
      );
      return outcome(
        { status: CallStatus.Timeout, error: { code: err.code, message: err.message } },
        { kind: FailureKind.Timeout },
      );
    }
    const limit = own === undefined ? remaining : remaining === undefined ? own : Math.min(own, remaining);
    const limitName =
      limit === own && own !== undefined
        ? `its timeout (${own}ms)`
        : request.deadlineFromBudget
          ? `the caller's switchyard-timeout-ms budget (${limit}ms left)`
          : `the aggregate deadline (${limit}ms left)`;
    const controller = new AbortController();
    const signal = AbortSignal.any([request.ctx.signal, controller.signal]);
    if (limit !== undefined) attachDeadline(signal, now + limit);
    let timedOut = false;
    const timer =
      limit === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort(new Error(`call "${call.name}" ran out of ${limitName}`));
          }, limit);
    let httpStatus: number | undefined;
    try {
      const balancer = balancers.get(call.service);
      const response = await deps.client.request(call.service, {
        method: call.method,
        path: rendered.value,
        headers: { ...request.headers, ...call.headers },
        signal,
        timeout: limit ?? 0,
        retry: gatewayRetry,
        ...(balancer === undefined ? {} : { balancer }),
      });
      httpStatus = response.statusCode;
      if (httpStatus < 200 || httpStatus > 299) {
        // Read a little of the body to keep the connection reusable; its content is not reported.
        response.body.dump().catch(() => {});
        return outcome(
          {
            status: CallStatus.Failed,
            httpStatus,
            error: {
              code: 'SY_GATEWAY_AGGREGATE_CALL_STATUS',
              message: `call "${call.name}" to ${call.service} answered ${httpStatus}`,
            },
          },
          { kind: FailureKind.Failed },
        );
      }
      let data: unknown = null;
      if (call.method === 'HEAD') response.body.resume();
      else data = await readCallBody(response, aggregate.maxBodySize, call);
      return outcome({ status: CallStatus.Ok, httpStatus }, { data });
    } catch (err) {
      const status = httpStatus === undefined ? {} : { httpStatus };
      const failure = classifyFailure(
        toGatewayError(err, {
          name: `${route.name} (call ${call.name})`,
          service: call.service,
          timeoutMs: limit ?? 0,
        }),
      );
      // The client's attempt timer is capped by the same limit and may fire a moment before this
      // one: either way the call ran out of the limit named here.
      if (timedOut || (failure.kind === FailureKind.Timeout && limit !== undefined)) {
        return outcome(
          {
            status: CallStatus.Timeout,
            ...status,
            error: {
              code: 'SY_GATEWAY_UPSTREAM_TIMEOUT',
              message: `call "${call.name}" to ${call.service} did not complete within ${limitName}`,
            },
          },
          { kind: FailureKind.Timeout },
        );
      }
      return outcome(
        { status: failure.status, ...status, error: { code: failure.code, message: failure.message } },
        { kind: failure.kind, ...(failure.retryAfter === undefined ? {} : { retryAfter: failure.retryAfter }) },
      );
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  };
}

function send(ctx: GatewayContext, verdict: AggregateVerdict, outcomes: readonly CallOutcome[]): void {
  const data: Record<string, unknown> = {};
  const calls: Record<string, CallReport> = {};
  for (const outcome of outcomes) {
    if (outcome.report.status === CallStatus.Ok) data[outcome.name] = outcome.data;
    calls[outcome.name] = outcome.report;
  }
  const payload: AggregateBody = verdict.ok
    ? { data, calls }
    : { error: { code: verdict.code, message: verdict.message, requestId: ctx.requestId }, data, calls };
  const body = JSON.stringify(payload);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': ctx.requestId,
  };
  if (!verdict.ok && verdict.retryAfter !== undefined) headers['retry-after'] = verdict.retryAfter;
  ctx.res.writeHead(verdict.status, headers);
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
}

function log(
  logger: GatewayLogger,
  route: ResolvedRoute,
  ctx: GatewayContext,
  verdict: AggregateVerdict,
  outcomes: readonly CallOutcome[],
): void {
  const notOk = outcomes.filter((o) => o.report.status !== CallStatus.Ok);
  if (notOk.length === 0) return;
  const fields = {
    requestId: ctx.requestId,
    route: route.name,
    calls: Object.fromEntries(notOk.map((o) => [o.name, { status: o.report.status, code: o.report.error?.code }])),
  };
  if (verdict.ok) logger.info(fields, `aggregate route ${route.name}: optional calls not ok, answered 200`);
  else logger.warn({ ...fields, code: verdict.code }, verdict.message);
}
