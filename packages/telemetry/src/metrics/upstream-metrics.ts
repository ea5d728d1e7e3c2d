import type { CounterCell, CounterFamily } from './internal/counter-family.ts';
import type { GaugeCell, GaugeFamily } from './internal/gauge-family.ts';
import type { MetricContext } from './internal/metric-context.ts';
import {
  BreakerStateLabel,
  UpstreamFailureReason,
  type UpstreamInstanceMetrics,
  type UpstreamMetrics,
  type UpstreamServiceMetrics,
} from './types.ts';

const REASONS: readonly UpstreamFailureReason[] = Object.values(UpstreamFailureReason);
const STATES: readonly BreakerStateLabel[] = Object.values(BreakerStateLabel);
const OTHER_REASON = REASONS.indexOf(UpstreamFailureReason.Other);

function reasonIndex(reason: string): number {
  const i = REASONS.indexOf(reason as UpstreamFailureReason);
  return i < 0 ? OTHER_REASON : i;
}

interface Families {
  readonly attempts: CounterFamily;
  readonly failures: CounterFamily;
  readonly retries: CounterFamily;
  readonly budget: CounterFamily;
  readonly ejections: CounterFamily;
  readonly breaker: GaugeFamily;
  readonly transitions: CounterFamily;
}

class InstanceHandle implements UpstreamInstanceMetrics {
  readonly #f: Families;
  readonly #service: string;
  readonly #instance: string;
  readonly #success: CounterCell;
  readonly #failure: CounterCell;
  /** Per reason, resolved on first failure so a healthy instance exports two series, not eight. */
  readonly #failures: (CounterCell | undefined)[] = [];

  constructor(f: Families, service: string, instance: string) {
    this.#f = f;
    this.#service = service;
    this.#instance = instance;
    this.#success = f.attempts.child(service, instance, 'success');
    this.#failure = f.attempts.child(service, instance, 'failure');
  }

  succeeded(): void {
    this.#success.value++;
  }

  failed(reason: UpstreamFailureReason): void {
    this.#failure.value++;
    const i = reasonIndex(reason);
    const cell = this.#failures[i] ?? this.#f.failures.child(this.#service, this.#instance, REASONS[i] as string);
    this.#failures[i] = cell;
    cell.value++;
  }
}

class ServiceHandle implements UpstreamServiceMetrics {
  readonly #f: Families;
  readonly #service: string;
  readonly #instances;
  readonly #retries: (CounterCell | undefined)[] = [];
  readonly #budget: CounterCell;
  readonly #ejections: CounterCell;
  #states: readonly GaugeCell[] | undefined;
  #current = -1;

  constructor(f: Families, ctx: MetricContext, service: string) {
    this.#f = f;
    this.#service = service;
    this.#instances = ctx.bounded(
      'instance',
      (instance) => new InstanceHandle(f, service, instance),
      ctx.options.maxInstancesPerService,
    );
    this.#budget = f.budget.child(service);
    this.#ejections = f.ejections.child(service);
  }

  instance(id: string): UpstreamInstanceMetrics {
    return this.#instances.get(id);
  }

  retried(reason: UpstreamFailureReason): void {
    const i = reasonIndex(reason);
    const cell = this.#retries[i] ?? this.#f.retries.child(this.#service, REASONS[i] as string);
    this.#retries[i] = cell;
    cell.value++;
  }

  retryBudgetRejected(): void {
    this.#budget.value++;
  }

  ejected(): void {
    this.#ejections.value++;
  }

  breakerState(state: BreakerStateLabel): void {
    const next = STATES.indexOf(state);
    if (next < 0 || next === this.#current) return;
    this.#states ??= STATES.map((s) => this.#f.breaker.child(this.#service, s));
    for (let i = 0; i < this.#states.length; i++) (this.#states[i] as GaugeCell).value = i === next ? 1 : 0;
    if (this.#current >= 0) this.#f.transitions.child(this.#service, STATES[this.#current] as string, state).value++;
    this.#current = next;
  }
}

/**
 * Builds the upstream group (`upstream_*`): attempts and failures per instance, retries and
 * retry budget rejections, ejections, and the breaker's one-hot state gauge and transitions.
 */
export function createUpstreamMetrics(ctx: MetricContext): UpstreamMetrics {
  const f: Families = {
    attempts: ctx.counter('upstream_attempts_total', 'Attempts sent to an upstream instance, by outcome.', [
      'service',
      'instance',
      'outcome',
    ]),
    failures: ctx.counter('upstream_failures_total', 'Failed attempts on an upstream instance, by reason.', [
      'service',
      'instance',
      'reason',
    ]),
    retries: ctx.counter('upstream_retries_total', 'Retries of upstream calls, by the reason of the failure retried.', [
      'service',
      'reason',
    ]),
    budget: ctx.counter(
      'upstream_retry_budget_rejections_total',
      'Retries refused because the retry budget was spent.',
      ['service'],
    ),
    ejections: ctx.counter('upstream_ejections_total', 'Instances ejected by outlier detection.', ['service']),
    breaker: ctx.gauge('upstream_breaker_state', 'Circuit breaker state, one-hot: 1 for the current state.', [
      'service',
      'state',
    ]),
    transitions: ctx.counter('upstream_breaker_transitions_total', 'Circuit breaker state changes.', [
      'service',
      'from',
      'to',
    ]),
  };
  const services = ctx.bounded('service', (service) => new ServiceHandle(f, ctx, service));
  return { service: (name) => services.get(name) };
}
