/**
 * The instrument API other Switchyard packages call (they cannot import prom-client). A leaf
 * file: it imports nothing of the package (only `@switchyard/core`), so the real implementation and the no-op one both
 * build on it without an import loop.
 *
 * Hot-path calls go through handles resolved once (`http.route('orders')` when the route is
 * built, `upstream.service('orders').instance('orders-1')` when the instance appears): the
 * handle holds its label children already, so a request pays a few array reads and additions,
 * never a label string or a map lookup.
 */

import { RegistryAuthRefusal, XdsAuthRefusal } from '@switchyard/core';

/** Why a control plane refused a caller: defined in `@switchyard/core`, shared with the servers that refuse. */
export { RegistryAuthRefusal, XdsAuthRefusal };

/** Disposable handle returned by registrations. */
export interface MetricsDisposable {
  dispose(): void;
  [Symbol.dispose](): void;
}

/** HTTP methods kept as `method` label values; any other method is counted as `other`. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'] as const;

/** `status_class` label values: `1xx`..`5xx`, and `other` for a status outside 100..599 (0 = no response). */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const;

/** Instruments of one HTTP route (gateway route or service handler), resolved once by name. */
export interface HttpRouteMetrics {
  /** A request entered the route: `requests_in_flight` + 1. Pair with {@link HttpRouteMetrics.end}. */
  start(): void;
  /** A request started with {@link HttpRouteMetrics.start} finished: in-flight - 1, then {@link HttpRouteMetrics.observe}. */
  end(method: string, status: number, seconds: number): void;
  /** Counts one finished request and records its duration in seconds (in-flight untouched). */
  observe(method: string, status: number, seconds: number): void;
}

/** HTTP server instruments: `switchyard_http_server_*`. */
export interface HttpServerMetrics {
  /**
   * The handle for route `name`: the route's configured NAME (bounded), never a raw path.
   * Requests that match no route should use one fixed name such as `unmatched`.
   */
  route(name: string): HttpRouteMetrics;
}

/** Why an upstream attempt failed or was retried; bounded, unknown values count as `other`. */
export const UpstreamFailureReason = {
  Timeout: 'timeout',
  Connect: 'connect',
  Reset: 'reset',
  Status: 'status',
  CircuitOpen: 'circuit_open',
  Other: 'other',
} as const;
/** A value of {@link UpstreamFailureReason}. */
export type UpstreamFailureReason = (typeof UpstreamFailureReason)[keyof typeof UpstreamFailureReason];

/** Circuit breaker states as `state` label values (one-hot gauge). */
export const BreakerStateLabel = { Closed: 'closed', Open: 'open', HalfOpen: 'half_open' } as const;
/** A value of {@link BreakerStateLabel}. */
export type BreakerStateLabel = (typeof BreakerStateLabel)[keyof typeof BreakerStateLabel];

/** Instruments of one instance of an upstream service. */
export interface UpstreamInstanceMetrics {
  /** An attempt on this instance succeeded: `attempts_total{outcome="success"}`. */
  succeeded(): void;
  /** An attempt failed: `attempts_total{outcome="failure"}` and `failures_total{reason}`. */
  failed(reason: UpstreamFailureReason): void;
}

/** Instruments of one upstream service, as the gateway or a client calls it. */
export interface UpstreamServiceMetrics {
  /**
   * The handle for instance `id`. Assumes a service has finitely many instances; past the
   * cap (`maxInstancesPerService`) further instances share the label `other`.
   */
  instance(id: string): UpstreamInstanceMetrics;
  /** A retry was made: `retries_total{reason}`. */
  retried(reason: UpstreamFailureReason): void;
  /** A retry was due but the retry budget refused it. */
  retryBudgetRejected(): void;
  /** Outlier detection ejected an instance of the service. */
  ejected(): void;
  /**
   * The service's breaker is now in `state`: the one-hot gauge moves, and a change from the
   * previously reported state counts in `breaker_transitions_total{from,to}`.
   */
  breakerState(state: BreakerStateLabel): void;
}

/** Upstream (client side) instruments: `switchyard_upstream_*`. */
export interface UpstreamMetrics {
  service(name: string): UpstreamServiceMetrics;
}

/** Rate limiter decisions as `decision` label values. */
export const RateLimitDecision = { Allowed: 'allowed', Limited: 'limited', Error: 'error' } as const;
/** A value of {@link RateLimitDecision}. */
export type RateLimitDecision = (typeof RateLimitDecision)[keyof typeof RateLimitDecision];

/** Rate limit instruments of one route. */
export interface RateLimitRouteMetrics {
  record(decision: RateLimitDecision): void;
}

/** The decisions counted for one route since the process started. */
export interface RateLimitRouteCounts {
  readonly route: string;
  readonly allowed: number;
  readonly limited: number;
  readonly error: number;
}

/** Rate limit instruments: `switchyard_rate_limit_decisions_total`. */
export interface RateLimitMetrics {
  route(name: string): RateLimitRouteMetrics;
  /** The counts so far, per route that has had a decision (empty when metrics are off). */
  counts(): readonly RateLimitRouteCounts[];
}

/**
 * How a mirrored request compared with the request it copied, the `outcome` label of
 * `switchyard_gateway_mirror_total`: same status class and status, a different status, the
 * mirror failed (no instance, refused, timed out), or it was not sent (body over the limit).
 */
export const MirrorOutcome = { Match: 'match', Mismatch: 'mismatch', Error: 'error', Skipped: 'skipped' } as const;
/** A value of {@link MirrorOutcome}. */
export type MirrorOutcome = (typeof MirrorOutcome)[keyof typeof MirrorOutcome];

/** Mirroring instruments of one gateway route. */
export interface MirrorRouteMetrics {
  record(outcome: MirrorOutcome): void;
}

/** Gateway traffic mirroring instruments: `switchyard_gateway_mirror_total{route, outcome}`. */
export interface MirrorMetrics {
  route(name: string): MirrorRouteMetrics;
}

/** Instruments of one bulkhead. */
export interface BulkheadInstanceMetrics {
  rejected(): void;
}

/** Bulkhead instruments: `switchyard_bulkhead_rejections_total`. */
export interface BulkheadMetrics {
  named(name: string): BulkheadInstanceMetrics;
}

/** What the registry gauge needs of an instance; `ServiceInstance` from core fits. */
export interface InstanceHealthView {
  readonly service: string;
  readonly status: string;
}

/** Discovery instruments: `switchyard_registry_instances{service,health}`. */
export interface DiscoveryMetrics {
  /**
   * Adds a snapshot source read at scrape time (never per request). Several sources add up.
   * A source that throws is skipped for that scrape; the exposition still answers.
   */
  addInstanceSource(snapshot: () => Iterable<InstanceHealthView>): MetricsDisposable;
}

/** Saga step phases as `phase` label values. */
export const SagaStepPhase = { Execute: 'execute', Compensate: 'compensate' } as const;
/** A value of {@link SagaStepPhase}. */
export type SagaStepPhase = (typeof SagaStepPhase)[keyof typeof SagaStepPhase];

/** Step outcomes as `outcome` label values. */
export const SagaStepOutcome = { Success: 'success', Failure: 'failure' } as const;
/** A value of {@link SagaStepOutcome}. */
export type SagaStepOutcome = (typeof SagaStepOutcome)[keyof typeof SagaStepOutcome];

/** Instruments of one step of one saga definition. */
export interface SagaStepMetrics {
  observe(phase: SagaStepPhase, outcome: SagaStepOutcome, seconds: number): void;
}

/** Instruments of one saga definition (named in code, so bounded). */
export interface SagaDefinitionMetrics {
  started(): void;
  completed(): void;
  compensated(): void;
  parked(): void;
  aborted(): void;
  step(name: string): SagaStepMetrics;
}

/** Saga instruments: `switchyard_saga_*`. */
export interface SagaMetrics {
  definition(name: string): SagaDefinitionMetrics;
}

/** How a consumed message was settled, as `outcome` label values. */
export const BusConsumeOutcome = { Ack: 'ack', Retry: 'retry', DeadLetter: 'dead_letter' } as const;
/** A value of {@link BusConsumeOutcome}. */
export type BusConsumeOutcome = (typeof BusConsumeOutcome)[keyof typeof BusConsumeOutcome];

/** Publishing instruments of one topic on one bus. */
export interface BusPublisherMetrics {
  published(): void;
}

/** Consuming instruments of one topic for one consumer group. */
export interface BusConsumerMetrics {
  consumed(outcome: BusConsumeOutcome): void;
  redelivered(): void;
}

/**
 * Event bus instruments: `switchyard_bus_*`. Topics and groups are names written in code, so
 * bounded by design; never pass a message id or a per-entity topic.
 */
export interface BusMetrics {
  /** `bus` names the bus (`nats`, `rabbitmq`, `sqlite`, `memory`, or the user's name for it). */
  publisher(bus: string, topic: string): BusPublisherMetrics;
  consumer(topic: string, group: string): BusConsumerMetrics;
}

/**
 * Every instrument group a component may use. {@link globalMetrics} returns one of these: the
 * process's metrics, or a no-op when none were set (`enabled` false, so callers can skip
 * reading the clock).
 */
export interface MetricsInstruments {
  /** False for the no-op implementation: skip measuring durations nobody records. */
  readonly enabled: boolean;
  readonly http: HttpServerMetrics;
  readonly upstream: UpstreamMetrics;
  readonly rateLimit: RateLimitMetrics;
  readonly mirror: MirrorMetrics;
  readonly bulkhead: BulkheadMetrics;
  readonly discovery: DiscoveryMetrics;
  readonly saga: SagaMetrics;
  readonly bus: BusMetrics;
  readonly admin: AdminMetrics;
  readonly controlPlane: ControlPlaneMetrics;
}

/**
 * Why an admin API refused a request, the `reason` label of
 * `switchyard_admin_auth_refused_total`: no bearer token, a token it does not know, or a token
 * without the scope the endpoint needs.
 */
export const AdminAuthRefusal = {
  MissingToken: 'missing_token',
  UnknownToken: 'unknown_token',
  InsufficientScope: 'insufficient_scope',
} as const;
/** A value of {@link AdminAuthRefusal}. */
export type AdminAuthRefusal = (typeof AdminAuthRefusal)[keyof typeof AdminAuthRefusal];

/** Admin API instruments: `switchyard_admin_auth_refused_total{reason}`. */
export interface AdminMetrics {
  authRefused(reason: AdminAuthRefusal): void;
}

/**
 * Control-plane instruments: `switchyard_registry_auth_refused_total{reason}` and
 * `switchyard_xds_auth_refused_total{reason}`. Pass them as the registry server's and xDS
 * server's `onAuthRefused`.
 */
export interface ControlPlaneMetrics {
  registryAuthRefused(reason: RegistryAuthRefusal): void;
  xdsAuthRefused(reason: XdsAuthRefusal): void;
}
