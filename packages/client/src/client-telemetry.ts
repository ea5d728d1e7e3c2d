/**
 * The resilient client's spans and metrics, in one place: a CLIENT span per attempt (trace
 * context injected into that attempt's headers), and resilience decisions (retries, retry
 * budget refusals, breaker state changes) as span events on the active span and as
 * `switchyard_upstream_*` metrics. With telemetry not set up, each call is a few property
 * reads on no-op objects: nothing is built per request.
 */
import type { ServiceInstance } from '@switchyard/core';
import type { BreakerRegistry, BreakerStateChangeEvent, CircuitBreaker } from '@switchyard/resilience';
import {
  activeSpan,
  BreakerStateLabel,
  CommonAttributes,
  getTracer,
  globalMetrics,
  HttpAttributes,
  injectContext,
  type MetricsInstruments,
  recordError,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  SwitchyardAttributes,
  UpstreamFailureReason,
  type UpstreamInstanceMetrics,
  type UpstreamServiceMetrics,
  withSpan,
} from '@switchyard/telemetry';

const tracer = getTracer('@switchyard/client');
/** Shared by every attempt span: the attributes are set once the span is known to record. */
const CLIENT_SPAN: SpanOptions = Object.freeze({ kind: SpanKind.CLIENT });
const INVALID_TRACE_ID = '00000000000000000000000000000000';
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'CONNECT',
  'TRACE',
]);

/**
 * Span event names the client adds to the active span (the caller's, e.g. the gateway's server span).
 *
 * @example
 * ```ts
 * const retries = span.events.filter((e) => e.name === ClientEvents.Retry).length;
 * ```
 */
export const ClientEvents = {
  /** A retry is being sent (attributes: attempt, reason, instance). */
  Retry: 'switchyard.retry',
  /** A retry was due but the retry budget refused it. */
  RetryBudgetExhausted: 'switchyard.retry.budget_exhausted',
  /** The service's circuit breaker changed state (attributes: from, to, reason). */
  BreakerStateChange: 'switchyard.circuit.state_change',
  /** The service's circuit breaker refused the attempt; nothing was sent. */
  CircuitOpen: 'switchyard.circuit.rejected',
} as const;

/** Why an attempt failed, as a bounded `reason` label. */
export function failureReason(outcome: unknown): UpstreamFailureReason {
  if (typeof outcome !== 'object' || outcome === null) return UpstreamFailureReason.Other;
  if ('statusCode' in outcome || 'response' in outcome) return UpstreamFailureReason.Status;
  switch ((outcome as { code?: unknown }).code) {
    case 'SY_CLIENT_TIMEOUT':
      return UpstreamFailureReason.Timeout;
    case 'SY_CLIENT_CONNECT_FAILED':
      return UpstreamFailureReason.Connect;
    case 'SY_CLIENT_UPSTREAM_FAILED':
      return UpstreamFailureReason.Reset;
    case 'SY_RESILIENCE_CIRCUIT_OPEN':
    case 'SY_RESILIENCE_CIRCUIT_ISOLATED':
      return UpstreamFailureReason.CircuitOpen;
    default:
      return UpstreamFailureReason.Other;
  }
}

function stateLabel(state: string): BreakerStateLabel {
  if (state === 'half-open') return BreakerStateLabel.HalfOpen;
  if (state === 'closed') return BreakerStateLabel.Closed;
  // `isolated` refuses every call, as `open` does.
  return BreakerStateLabel.Open;
}

/** Whether a span carries a real trace context (telemetry set up), sampled or not. */
export function isTraced(span: Span): boolean {
  return span.isRecording() || span.spanContext().traceId !== INVALID_TRACE_ID;
}

/** One service's instruments, resolved once per service the client calls. */
class ServiceTelemetry {
  readonly metrics: UpstreamServiceMetrics;
  readonly #instances = new Map<string, UpstreamInstanceMetrics>();

  constructor(metrics: UpstreamServiceMetrics) {
    this.metrics = metrics;
  }

  instance(id: string): UpstreamInstanceMetrics {
    let handle = this.#instances.get(id);
    if (handle === undefined) {
      handle = this.metrics.instance(id);
      this.#instances.set(id, handle);
    }
    return handle;
  }
}

/**
 * The telemetry of one client: metric handles from the global metrics when the client was
 * created, one breaker subscription per breaker the client uses.
 */
export class ClientTelemetry {
  readonly #metrics: MetricsInstruments;
  readonly #services = new Map<string, ServiceTelemetry>();
  readonly #breakers: BreakerRegistry;
  readonly #watched = new WeakSet<CircuitBreaker>();

  constructor(breakers: BreakerRegistry) {
    this.#metrics = globalMetrics();
    this.#breakers = breakers;
  }

  #service(name: string): ServiceTelemetry {
    let service = this.#services.get(name);
    if (service === undefined) {
      service = new ServiceTelemetry(this.#metrics.upstream.service(name));
      this.#services.set(name, service);
    }
    return service;
  }

  /**
   * The breaker of `service`, subscribed to once: its state is reported now (the gauge starts
   * at `closed`) and on every change, as a metric and as an event on the span active then.
   */
  breaker(service: string): CircuitBreaker {
    const breaker = this.#breakers.get(service);
    if (this.#watched.has(breaker)) return breaker;
    this.#watched.add(breaker);
    const metrics = this.#service(service).metrics;
    metrics.breakerState(stateLabel(breaker.state));
    breaker.onStateChange((event: BreakerStateChangeEvent) => {
      metrics.breakerState(stateLabel(event.to));
      activeSpan()?.addEvent(ClientEvents.BreakerStateChange, {
        [SwitchyardAttributes.UPSTREAM_SERVICE]: service,
        'switchyard.circuit.from': event.from,
        [SwitchyardAttributes.CIRCUIT_STATE]: event.to,
        'switchyard.circuit.reason': event.reason,
      });
    });
    return breaker;
  }

  /** A retry of `service` is about to be sent to `instance` because of `previous`. */
  retried(service: string, attempt: number, instance: ServiceInstance, previous: unknown): void {
    const reason = failureReason(previous);
    if (this.#metrics.enabled) this.#service(service).metrics.retried(reason);
    activeSpan()?.addEvent(ClientEvents.Retry, {
      [SwitchyardAttributes.UPSTREAM_SERVICE]: service,
      [SwitchyardAttributes.ATTEMPT]: attempt,
      [SwitchyardAttributes.UPSTREAM_INSTANCE]: instance.id,
      'switchyard.retry.reason': reason,
    });
  }

  /** A retry of `service` was refused by the retry budget. */
  budgetRejected(service: string): void {
    if (this.#metrics.enabled) this.#service(service).metrics.retryBudgetRejected();
    activeSpan()?.addEvent(ClientEvents.RetryBudgetExhausted, { [SwitchyardAttributes.UPSTREAM_SERVICE]: service });
  }

  /** The breaker refused an attempt on `instance`: counted as a `circuit_open` failure; nothing was sent. */
  circuitRejected(service: string, instance: ServiceInstance, err: unknown): void {
    if (this.#metrics.enabled) this.#service(service).instance(instance.id).failed(failureReason(err));
    activeSpan()?.addEvent(ClientEvents.CircuitOpen, {
      [SwitchyardAttributes.UPSTREAM_SERVICE]: service,
      [SwitchyardAttributes.UPSTREAM_INSTANCE]: instance.id,
    });
  }

  /** An attempt got a response with `status` (a 5xx counts as a failure of the instance). */
  answered(service: string, instance: ServiceInstance, status: number): void {
    if (!this.#metrics.enabled) return;
    const handle = this.#service(service).instance(instance.id);
    if (status >= 500) handle.failed(UpstreamFailureReason.Status);
    else handle.succeeded();
  }

  /** An attempt got no response (`err` is the client's error). Cancellations by the caller are not counted. */
  failed(service: string, instance: ServiceInstance, err: unknown): void {
    if (!this.#metrics.enabled) return;
    if ((err as { code?: unknown } | null)?.code === 'SY_CANCELLED') return;
    this.#service(service).instance(instance.id).failed(failureReason(err));
  }
}

/**
 * Starts the CLIENT span of one attempt, as a child of the active span, and injects its trace
 * context into `headers` (replacing a relayed `traceparent`). Attributes are set only when the
 * span records.
 */
export function startAttemptSpan(
  method: string,
  origin: string,
  path: string,
  service: string,
  instance: ServiceInstance,
  attempt: number,
  headers: Record<string, string | readonly string[]>,
): Span {
  const known = KNOWN_METHODS.has(method);
  const span = tracer.startSpan(known ? method : 'HTTP', CLIENT_SPAN);
  if (!isTraced(span)) return span;
  if (span.isRecording()) {
    span.setAttribute(HttpAttributes.REQUEST_METHOD, known ? method : '_OTHER');
    if (!known) span.setAttribute(HttpAttributes.REQUEST_METHOD_ORIGINAL, method);
    span.setAttribute(HttpAttributes.SERVER_ADDRESS, instance.address);
    span.setAttribute(HttpAttributes.SERVER_PORT, instance.port);
    span.setAttribute(HttpAttributes.URL_FULL, origin + path);
    span.setAttribute(SwitchyardAttributes.UPSTREAM_SERVICE, service);
    span.setAttribute(SwitchyardAttributes.UPSTREAM_INSTANCE, instance.id);
    if (attempt > 1) {
      span.setAttribute(SwitchyardAttributes.ATTEMPT, attempt);
      span.setAttribute(HttpAttributes.REQUEST_RESEND_COUNT, attempt - 1);
    }
  }
  withSpan(span, () => injectContext(headers as Record<string, string>));
  return span;
}

/** The response headers of an attempt arrived: status code, and ERROR for a 4xx or 5xx (client span rules). */
export function attemptAnswered(span: Span, status: number): void {
  if (!span.isRecording()) return;
  span.setAttribute(HttpAttributes.RESPONSE_STATUS_CODE, status);
  if (status >= 400) {
    span.setAttribute(CommonAttributes.ERROR_TYPE, String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}

/** An attempt got no response: the error is recorded and the span ended. */
export function attemptFailed(span: Span, err: unknown): void {
  recordError(span, err);
  span.end();
}
