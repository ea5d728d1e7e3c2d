import type { CounterCell } from './internal/counter-family.ts';
import type { HistogramCell, HistogramFamily } from './internal/histogram-family.ts';
import type { MetricContext } from './internal/metric-context.ts';
import {
  type SagaDefinitionMetrics,
  type SagaMetrics,
  type SagaStepMetrics,
  SagaStepOutcome,
  SagaStepPhase,
} from './types.ts';

const PHASES: readonly string[] = Object.values(SagaStepPhase);
const OUTCOMES: readonly string[] = Object.values(SagaStepOutcome);

/** One step's duration children, indexed phase * outcomes + outcome, resolved on first use. */
class StepHandle implements SagaStepMetrics {
  readonly #family: HistogramFamily;
  readonly #saga: string;
  readonly #step: string;
  readonly #cells: (HistogramCell | undefined)[] = [];

  constructor(family: HistogramFamily, saga: string, step: string) {
    this.#family = family;
    this.#saga = saga;
    this.#step = step;
  }

  observe(phase: SagaStepPhase, outcome: SagaStepOutcome, seconds: number): void {
    // An unknown phase counts as execute and an unknown outcome as failure: bounded either way.
    const p = Math.max(0, PHASES.indexOf(phase));
    const o = outcome === SagaStepOutcome.Success ? 0 : 1;
    const i = p * OUTCOMES.length + o;
    let cell = this.#cells[i];
    if (cell === undefined) {
      cell = this.#family.child(this.#saga, this.#step, PHASES[p] as string, OUTCOMES[o] as string);
      this.#cells[i] = cell;
    }
    cell.observe(seconds);
  }
}

/**
 * Builds the saga group (`saga_*`): started, completed, compensated, parked and aborted
 * counters by saga name, and `saga_step_duration_seconds{saga, step, phase, outcome}`.
 */
export function createSagaMetrics(ctx: MetricContext): SagaMetrics {
  const counter = (what: string, help: string) => ctx.counter(`saga_${what}_total`, help, ['saga']);
  const started = counter('started', 'Sagas started.');
  const completed = counter('completed', 'Sagas that ran every step to the end.');
  const compensated = counter('compensated', 'Sagas that failed and finished compensating.');
  const parked = counter('parked', 'Sagas parked for an operator (a compensation kept failing).');
  const aborted = counter('aborted', 'Sagas aborted before finishing (cancelled or by an operator).');
  const steps = ctx.histogram(
    'saga_step_duration_seconds',
    'Duration of one saga step action or compensation, in seconds.',
    ['saga', 'step', 'phase', 'outcome'],
    ctx.options.sagaStepBuckets,
  );
  const inc = (cell: CounterCell) => () => {
    cell.value++;
  };
  const sagas = ctx.bounded('saga', (saga): SagaDefinitionMetrics => {
    const stepHandles = ctx.bounded('step', (step) => new StepHandle(steps, saga, step));
    return {
      started: inc(started.child(saga)),
      completed: inc(completed.child(saga)),
      compensated: inc(compensated.child(saga)),
      parked: inc(parked.child(saga)),
      aborted: inc(aborted.child(saga)),
      step: (name) => stepHandles.get(name),
    };
  });
  return { definition: (name) => sagas.get(name) };
}
