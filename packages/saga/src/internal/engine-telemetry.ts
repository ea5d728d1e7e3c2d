/**
 * The saga engine's spans, span events and metrics, in one place so the engine's logic stays
 * about sagas. Spans: one `saga <name>` span per run segment (from the moment an engine takes
 * a saga until it rests, is lost or the engine stops), parented on the trace context kept in
 * the saga's `meta`, so a saga resumed by another process stays in the trace that began it; one
 * child span per attempt of a step or a compensation, active while the user's function runs.
 * Metrics: `globalMetrics().saga`, handles resolved when the engine is built.
 */
import type { SwitchyardErrorJSON } from '@switchyard/core';
import {
  type Attributes,
  activeContext,
  CommonAttributes,
  type Context,
  extractContext,
  getTracer,
  globalMetrics,
  injectContext,
  recordError,
  type SagaDefinitionMetrics,
  type SagaStepMetrics,
  SagaStepOutcome,
  type Span,
  SpanKind,
  SpanStatusCode,
  SwitchyardAttributes,
  withSpan,
} from '@switchyard/telemetry';
import type { SagaDefinition, SagaStepDefinition, StepPhase } from '../definition.ts';
import { activeSagaStatuses, type SagaRecord, SagaStatus, type SagaTransition, TransitionKind } from '../store.ts';
import { isNoopSpan } from './noop-span.ts';

/** Attribute names of the saga's own span events and spans (beside `SwitchyardAttributes`). */
export const SagaTelemetryAttributes = {
  /** `success` or `failure`: how a step or compensation attempt ended. */
  STEP_OUTCOME: 'switchyard.saga.step.outcome',
  /** The engine (owner) that drives this run segment. */
  OWNER: 'switchyard.saga.owner',
  /** Why a run segment continues a saga begun earlier: `recovered` (claimed) or `retried` (operator). */
  RESUMED_REASON: 'switchyard.saga.resumed.reason',
  /** The wait before the next attempt of a step, in milliseconds. */
  RETRY_DELAY_MS: 'switchyard.saga.retry.delay_ms',
  /** The error message of a span event. */
  ERROR_MESSAGE: 'error.message',
} as const;

const tracer = getTracer('@switchyard/saga');
const internalOptions = Object.freeze({ kind: SpanKind.INTERNAL });

/** How a run segment came to be: a saga begun here, one claimed from the store, one an operator retried. */
export type SegmentOrigin = 'begun' | 'recovered' | 'retried';

/** The span of one run segment and the context that makes it the parent of the step spans. */
export interface SagaSegment {
  readonly span: Span;
  readonly context: Context;
  /** Set once the span ended (when the saga came to rest, or the run stopped). */
  ended: boolean;
  /** Telemetry is not set up: its spans are the API's no-ops (skip making them active). */
  readonly noop: boolean;
}

/** A step's names and metric handles, resolved once per definition. */
interface StepTelemetry {
  readonly executeName: string;
  readonly compensateName: string;
  readonly metrics: SagaStepMetrics;
}

interface DefinitionTelemetry {
  readonly spanName: string;
  readonly metrics: SagaDefinitionMetrics;
}

/** The engine's telemetry: handles per definition and step, taken when the engine is built. */
export interface EngineTelemetry {
  /** False when no metrics are set: skip reading the clock for durations. */
  readonly timed: boolean;
  /** Starts the span of a run segment (see the module comment). */
  startSegment(def: SagaDefinition, record: SagaRecord, origin: SegmentOrigin, owner: string): SagaSegment;
  /** Ends a segment's span with the saga's status (an ERROR status when it did not complete). Idempotent. */
  endSegment(segment: SagaSegment, record: SagaRecord, lost: boolean): void;
  /** Starts the span of one attempt of a step's `execute` or `compensate`. */
  startAttempt(
    segment: SagaSegment | undefined,
    sagaId: string,
    step: SagaStepDefinition,
    phase: StepPhase,
    attempt: number,
  ): Span;
  /** Ends an attempt's span and records its duration (`startedMs` from `performance.now()`, 0 when not timed). */
  endAttempt(span: Span, step: SagaStepDefinition, phase: StepPhase, startedMs: number, error?: unknown): void;
  /** A retry of a step is due after `delayMs`: a `saga.step.retry` event on the segment. */
  stepRetry(segment: SagaSegment | undefined, step: string, attempt: number, delayMs: number, error: unknown): void;
  /**
   * Counts durable transitions and adds the span events they call for to the segment; ends the
   * segment when the saga comes to rest (before waiters hear of it, so its span is complete by then).
   */
  transitions(transitions: readonly SagaTransition[], saga: SagaRecord, segment: SagaSegment | undefined): void;
}

const resting: ReadonlySet<string> = new Set([
  SagaStatus.Completed,
  SagaStatus.Compensated,
  SagaStatus.Parked,
  SagaStatus.Aborted,
]);
const restingWithError: ReadonlySet<string> = new Set([SagaStatus.Compensated, SagaStatus.Parked, SagaStatus.Aborted]);

/**
 * Resolves the metric handles of every registered saga and step (no lookups by name on the
 * hot path) and returns the engine's telemetry.
 */
export function createEngineTelemetry(sagas: ReadonlyMap<string, SagaDefinition>): EngineTelemetry {
  const metrics = globalMetrics();
  const definitions = new Map<string, DefinitionTelemetry>();
  const steps = new WeakMap<SagaStepDefinition, StepTelemetry>();
  for (const def of sagas.values()) {
    const handles = metrics.saga.definition(def.name);
    definitions.set(def.name, { spanName: `saga ${def.name}`, metrics: handles });
    for (const stage of def.stages) {
      for (const step of stage) {
        steps.set(step, {
          executeName: `saga ${def.name} step ${step.name}`,
          compensateName: `saga ${def.name} compensate ${step.name}`,
          metrics: handles.step(step.name),
        });
      }
    }
  }

  const endSegment = (segment: SagaSegment, record: SagaRecord, lost: boolean): void => {
    if (segment.ended) return;
    segment.ended = true;
    const { span } = segment;
    if (span.isRecording()) {
      span.setAttribute(SwitchyardAttributes.SAGA_STATUS, record.status);
      if (lost) span.addEvent('saga.lost');
      else if (activeSagaStatuses.includes(record.status)) span.addEvent('saga.suspended');
      if (restingWithError.has(record.status)) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: record.error?.message ?? record.status });
        if (record.error !== undefined) span.setAttribute(CommonAttributes.ERROR_TYPE, record.error.code);
      }
    }
    span.end();
  };

  return {
    timed: metrics.enabled,

    startSegment(def, record, origin, owner) {
      const name = definitions.get(def.name)?.spanName ?? `saga ${def.name}`;
      // The stored context, never the caller's: a saga driven after another one ends must not
      // nest under it, and one resumed elsewhere continues the trace that began it.
      const parent = extractContext(record.meta);
      const span = tracer.startSpan(name, internalOptions, parent);
      if (isNoopSpan(span)) return { span, context: parent, ended: false, noop: true };
      if (span.isRecording()) {
        span.setAttributes({
          [SwitchyardAttributes.SAGA_ID]: record.id,
          [SwitchyardAttributes.SAGA_NAME]: def.name,
          [SagaTelemetryAttributes.OWNER]: owner,
        });
        if (origin !== 'begun') span.addEvent('saga.resumed', { [SagaTelemetryAttributes.RESUMED_REASON]: origin });
      }
      return { span, context: withSpan(span, activeContext), ended: false, noop: false };
    },

    endSegment,

    startAttempt(segment, sagaId, step, phase, attempt) {
      const names = steps.get(step);
      const execute = phase === 'execute';
      const name = names === undefined ? `saga step ${step.name}` : execute ? names.executeName : names.compensateName;
      const span = tracer.startSpan(name, internalOptions, segment?.context ?? activeContext());
      if (span.isRecording()) {
        span.setAttributes({
          [SwitchyardAttributes.SAGA_ID]: sagaId,
          [SwitchyardAttributes.SAGA_STEP]: step.name,
          [SwitchyardAttributes.SAGA_STEP_PHASE]: phase,
          [SwitchyardAttributes.ATTEMPT]: attempt,
        });
      }
      return span;
    },

    endAttempt(span, step, phase, startedMs, error) {
      if (startedMs !== 0) {
        const outcome = error === undefined ? SagaStepOutcome.Success : SagaStepOutcome.Failure;
        steps.get(step)?.metrics.observe(phase, outcome, (performance.now() - startedMs) / 1000);
      }
      if (span.isRecording()) {
        span.setAttribute(
          SagaTelemetryAttributes.STEP_OUTCOME,
          error === undefined ? SagaStepOutcome.Success : SagaStepOutcome.Failure,
        );
        if (error !== undefined) recordError(span, error);
      }
      span.end();
    },

    stepRetry(segment, step, attempt, delayMs, error) {
      const span = segment?.span;
      if (span === undefined || !span.isRecording()) return;
      span.addEvent('saga.step.retry', {
        [SwitchyardAttributes.SAGA_STEP]: step,
        [SwitchyardAttributes.ATTEMPT]: attempt,
        [SagaTelemetryAttributes.RETRY_DELAY_MS]: delayMs,
        [SagaTelemetryAttributes.ERROR_MESSAGE]: error instanceof Error ? error.message : String(error),
      });
    },

    transitions(transitions, saga, segment) {
      const handles = definitions.get(saga.name)?.metrics;
      const span = segment?.span;
      const recording = segment !== undefined && !segment.ended && span?.isRecording() === true;
      for (const t of transitions) {
        switch (t.kind) {
          case TransitionKind.SagaStarted:
            handles?.started();
            break;
          case TransitionKind.SagaCompleted:
            handles?.completed();
            break;
          case TransitionKind.SagaCompensated:
            handles?.compensated();
            break;
          case TransitionKind.SagaAborted:
            handles?.aborted();
            break;
          case TransitionKind.SagaParked:
            handles?.parked();
            if (recording) span?.addEvent('saga.parked', errorAttributes(t.error));
            break;
          case TransitionKind.SagaCompensating:
            if (recording) span?.addEvent('saga.compensating', errorAttributes(t.error));
            break;
          case TransitionKind.CompensationFailed:
            if (recording) {
              span?.addEvent('saga.compensation.failed', {
                ...errorAttributes(t.error),
                [SwitchyardAttributes.SAGA_STEP]: t.step ?? '',
                [SwitchyardAttributes.ATTEMPT]: t.attempt ?? 0,
              });
            }
            break;
          default:
            break;
        }
      }
      if (segment !== undefined && resting.has(saga.status)) endSegment(segment, saga, false);
    },
  };
}

/** `ctx.meta` for a step attempt: the saga's meta with the attempt span's trace context. */
export function attemptMeta(span: Span, meta: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  // Not recording (no telemetry, or not sampled): the saga's own headers already say so.
  if (!span.isRecording()) return meta;
  return Object.freeze(injectContext({ ...meta }));
}

function errorAttributes(error: SwitchyardErrorJSON | undefined): Attributes {
  if (error === undefined) return {};
  return { [CommonAttributes.ERROR_TYPE]: error.code, [SagaTelemetryAttributes.ERROR_MESSAGE]: error.message };
}
