import type { BackoffDelay, JsonValue, SwitchyardErrorJSON } from '@switchyard/core';
import { isSwitchyardError } from '@switchyard/core';
import { withSpan } from '@switchyard/telemetry';
import type { SagaDefinition, SagaStepDefinition, StepContext, StepPhase } from '../definition.ts';
import { sagaError } from '../errors.ts';
import { activeSagaStatuses, type SagaRecord, SagaStatus, type SagaTransition, TransitionKind } from '../store.ts';
import { applyTransition, type ReplayedSaga } from './engine-replay.ts';
import { sleep } from './engine-sleep.ts';
import { attemptMeta, type EngineTelemetry, type SagaSegment, type SegmentOrigin } from './engine-telemetry.ts';
import { type WriterEnv, writeUpdate } from './engine-writer.ts';
import { runAttempt } from './step-attempt.ts';
import { toJsonValue } from './step-json.ts';

/** One saga an engine holds the lease of: its record as last written, and what its history says. */
export interface SagaRun {
  readonly id: string;
  readonly def: SagaDefinition;
  record: SagaRecord;
  readonly replay: ReplayedSaga;
  /** The lease end this engine last wrote or renewed; written with every update. */
  leaseUntil: number;
  /** Aborted when another engine or an operator took the saga, or the engine stopped for good. */
  readonly controller: AbortController;
  /** True once a write met `SY_SAGA_CONFLICT`, or a renewal came back without it. */
  lost: boolean;
  /** Serialises this saga's writes: each needs the version the one before wrote. */
  chain: Promise<unknown>;
  /** How this engine came to drive it (a new saga, a claim, an operator's retry). */
  readonly origin: SegmentOrigin;
  /** The span of this run segment, while it is driven. */
  segment: SagaSegment | undefined;
}

/** What driving a saga needs from its engine. */
export interface RunEnv extends WriterEnv {
  readonly owner: string;
  readonly compensation: { readonly maxAttempts: number; readonly backoff: BackoffDelay };
  readonly stepBackoff: (step: SagaStepDefinition) => BackoffDelay;
  /** True once `stop()` began: finish the current call, start nothing new. */
  readonly stopping: () => boolean;
  /** Aborted when `stop()` begins: ends backoff waits, so a retry is not started while stopping. */
  readonly stoppingSignal: AbortSignal;
  /** Called after each durable write, with its transitions in order (and the run segment's span). */
  readonly emit: (transitions: readonly SagaTransition[], saga: SagaRecord, segment?: SagaSegment) => void;
  /** Spans and metrics. */
  readonly telemetry: EngineTelemetry;
  /** Called once when the saga is lost to another owner. */
  readonly onLost: (run: SagaRun) => void;
}

type TransitionInput = Omit<SagaTransition, 'sagaId' | 'seq' | 'at' | 'owner'>;
interface Change {
  readonly patch?: Partial<Pick<SagaRecord, 'status' | 'outputs' | 'error' | 'parkedDirection'>>;
  readonly transitions: readonly TransitionInput[];
}

const isStopped = (run: SagaRun) => run.lost || run.controller.signal.aborted;

/**
 * Drives a saga until it rests (completed, compensated, parked), is lost, or the engine stops:
 * forward while `running`, backward while `compensating`. Each pass writes what it is about to
 * do, does it, and writes the outcome merged with the next start.
 */
export async function driveSaga(env: RunEnv, run: SagaRun): Promise<void> {
  while (!isStopped(run) && !env.stopping()) {
    const status = run.record.status;
    if (status === SagaStatus.Running) await forward(env, run);
    else if (status === SagaStatus.Compensating) await backward(env, run);
    else return;
  }
}

/**
 * Writes one change of a saga, after the writes before it. `build` runs just before the write
 * and sees the record they left. Resolves true when durable; false when the saga was lost (then
 * nothing more is written or emitted) or the engine stopped.
 */
export function commit(env: RunEnv, run: SagaRun, build: (record: SagaRecord) => Change): Promise<boolean> {
  const next = run.chain.then(async () => {
    if (isStopped(run)) return false;
    const now = env.clock.now();
    const change = build(run.record);
    const status = change.patch?.status ?? run.record.status;
    const active = activeSagaStatuses.includes(status);
    const saga: SagaRecord = {
      ...run.record,
      ...change.patch,
      version: run.record.version + 1,
      updatedAt: now,
      owner: active ? env.owner : undefined,
      leaseUntil: active ? run.leaseUntil : undefined,
    };
    let seq = run.replay.seq;
    const transitions = change.transitions.map(
      (t): SagaTransition => ({ ...t, sagaId: run.id, seq: ++seq, at: now, owner: env.owner }),
    );
    const result = await writeUpdate(env, { saga, transitions }, run.record.version);
    if (result === 'lost') markLost(env, run);
    if (result !== 'written') return false;
    // Durable, so it is told even if the saga was lost meanwhile (a renewal racing this write).
    run.record = saga;
    for (const t of transitions) applyTransition(run.replay, t);
    env.emit(transitions, saga, run.segment);
    return !isStopped(run);
  });
  run.chain = next.catch(() => false);
  return next;
}

/** Marks a saga lost to another owner: its calls are aborted and nothing more is written. */
export function markLost(env: RunEnv, run: SagaRun): void {
  if (run.lost) return;
  run.lost = true;
  run.controller.abort(
    sagaError('SY_SAGA_CONFLICT', `saga "${run.id}": another engine or an operator took it over`, {
      details: { sagaId: run.id, owner: env.owner },
    }),
  );
  env.onLost(run);
}

// --- forward ---

interface StepFailure {
  readonly step: string;
  readonly attempt: number;
  readonly error: SwitchyardErrorJSON;
}

type StepOutcome =
  | { readonly kind: 'done'; readonly output: JsonValue; readonly attempt: number }
  | { readonly kind: 'failed'; readonly failure: StepFailure }
  | { readonly kind: 'stopped' };

async function forward(env: RunEnv, run: SagaRun): Promise<void> {
  const { stages } = run.def;
  const index = stages.findIndex((stage) => stage.some((s) => !(s.name in run.record.outputs)));
  if (index === -1) {
    await commit(env, run, () => ({
      patch: { status: SagaStatus.Completed },
      transitions: [{ kind: TransitionKind.SagaCompleted }],
    }));
    return;
  }
  const stage = stages[index] ?? [];
  const pending = stage.filter((s) => !(s.name in run.record.outputs));
  const unstarted = pending.filter((s) => !run.replay.started.has(s.name));
  if (unstarted.length > 0 && !(await commit(env, run, () => ({ transitions: unstarted.map(stepStarted) })))) return;
  const failures: StepFailure[] = [];
  await Promise.all(
    pending.map(async (step) => {
      const outcome = await executeStep(env, run, step);
      if (outcome.kind === 'failed') failures.push(outcome.failure);
      if (outcome.kind !== 'done') return;
      await commit(env, run, (record) => stepDone(run, record, index, step, outcome, failures.length > 0));
    }),
  );
  if (failures.length > 0) await commit(env, run, (record) => stepsFailed(run, record, failures));
}

const stepStarted = (step: SagaStepDefinition): TransitionInput => ({
  kind: TransitionKind.StepStarted,
  step: step.name,
  attempt: 1,
});

/** `step.done`, merged with the next stage's `step.started` (or `saga.completed`) when the stage is complete. */
function stepDone(
  run: SagaRun,
  record: SagaRecord,
  index: number,
  step: SagaStepDefinition,
  outcome: { output: JsonValue; attempt: number },
  siblingFailed: boolean,
): Change {
  const outputs = { ...record.outputs, [step.name]: outcome.output };
  const done: TransitionInput = {
    kind: TransitionKind.StepDone,
    step: step.name,
    attempt: outcome.attempt,
    output: outcome.output,
  };
  const stages = run.def.stages;
  if (siblingFailed || (stages[index] ?? []).some((s) => !(s.name in outputs))) {
    return { patch: { outputs }, transitions: [done] };
  }
  const next = stages[index + 1];
  if (next === undefined) {
    return {
      patch: { outputs, status: SagaStatus.Completed },
      transitions: [done, { kind: TransitionKind.SagaCompleted }],
    };
  }
  const starts = next.filter((s) => !run.replay.started.has(s.name)).map(stepStarted);
  return { patch: { outputs }, transitions: [done, ...starts] };
}

/** `step.failed` for each failed member, `saga.compensating`, and the first compensations' starts. */
function stepsFailed(run: SagaRun, record: SagaRecord, failures: readonly StepFailure[]): Change {
  const error = failures[0]?.error;
  const failed = failures.map(
    (f): TransitionInput => ({ kind: TransitionKind.StepFailed, step: f.step, attempt: f.attempt, error: f.error }),
  );
  const first = nextCompensationGroup(run.def, run.replay) ?? [];
  return {
    patch: { status: SagaStatus.Compensating, error: error ?? record.error },
    transitions: [
      ...failed,
      { kind: TransitionKind.SagaCompensating, error },
      ...first.map((s) => compensationStarted(run, s)),
    ],
  };
}

async function executeStep(env: RunEnv, run: SagaRun, step: SagaStepDefinition): Promise<StepOutcome> {
  const backoff = env.stepBackoff(step);
  const what = `saga "${run.def.name}" step "${step.name}"`;
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await runAttemptOf(env, run, step, 'execute', attempt);
      return { kind: 'done', output: toJsonValue(value, `${what} output`), attempt };
    } catch (error) {
      if (isStopped(run) || env.stopping()) return { kind: 'stopped' };
      if (attempt >= step.retry.maxAttempts || !retryOn(step, error, attempt)) {
        return { kind: 'failed', failure: { step: step.name, attempt, error: toErrorJSON(error, step.name) } };
      }
      const delay = backoff(attempt);
      env.telemetry.stepRetry(run.segment, step.name, attempt, delay, error);
      if (!(await sleep(env.clock, delay, waitSignal(env, run)))) return { kind: 'stopped' };
      if (env.stopping()) return { kind: 'stopped' };
    }
  }
}

/** Ends a backoff wait when the saga is lost, or the engine stops (gracefully or not). */
const waitSignal = (env: RunEnv, run: SagaRun): AbortSignal =>
  AbortSignal.any([run.controller.signal, env.stoppingSignal]);

function retryOn(step: SagaStepDefinition, error: unknown, attempt: number): boolean {
  try {
    return step.retry.retryOn(error, attempt);
  } catch {
    return false;
  }
}

// --- backward ---

/** The next steps to compensate, latest stage first: started, with a `compensate`, not yet compensated. */
export function nextCompensationGroup(
  def: SagaDefinition,
  replay: ReplayedSaga,
  alsoDone?: string,
): readonly SagaStepDefinition[] | undefined {
  for (let i = def.stages.length - 1; i >= 0; i--) {
    const group = (def.stages[i] ?? []).filter(
      (s) =>
        s.compensate !== undefined && replay.started.has(s.name) && !replay.compDone.has(s.name) && s.name !== alsoDone,
    );
    if (group.length > 0) return group;
  }
  return undefined;
}

const compensationStarted = (run: SagaRun, step: SagaStepDefinition): TransitionInput => ({
  kind: TransitionKind.CompensationStarted,
  step: step.name,
  attempt: (run.replay.compFailures.get(step.name) ?? 0) + 1,
});

interface GiveUp {
  readonly step: string;
  readonly attempts: number;
  readonly error: SwitchyardErrorJSON;
}

async function backward(env: RunEnv, run: SagaRun): Promise<void> {
  const group = nextCompensationGroup(run.def, run.replay);
  if (group === undefined) {
    await commit(env, run, () => ({
      patch: { status: SagaStatus.Compensated },
      transitions: [{ kind: TransitionKind.SagaCompensated }],
    }));
    return;
  }
  const unstarted = group.filter((s) => !run.replay.compStarted.has(s.name));
  if (
    unstarted.length > 0 &&
    !(await commit(env, run, () => ({ transitions: unstarted.map((s) => compensationStarted(run, s)) })))
  ) {
    return;
  }
  const gaveUp: GiveUp[] = [];
  await Promise.all(group.map((step) => compensateStep(env, run, group, step, gaveUp)));
  if (gaveUp.length > 0) await commit(env, run, (record) => parked(run, record, gaveUp));
}

async function compensateStep(
  env: RunEnv,
  run: SagaRun,
  group: readonly SagaStepDefinition[],
  step: SagaStepDefinition,
  gaveUp: GiveUp[],
): Promise<void> {
  for (;;) {
    const attempt = (run.replay.compFailures.get(step.name) ?? 0) + 1;
    try {
      await runAttemptOf(env, run, step, 'compensate', attempt);
    } catch (error) {
      if (isStopped(run)) return;
      const json = toErrorJSON(error, step.name);
      const failed: TransitionInput = {
        kind: TransitionKind.CompensationFailed,
        step: step.name,
        attempt,
        error: json,
      };
      if (!(await commit(env, run, () => ({ transitions: [failed] })))) return;
      if (attempt >= env.compensation.maxAttempts) {
        gaveUp.push({ step: step.name, attempts: attempt, error: json });
        return;
      }
      if (env.stopping()) return;
      if (!(await sleep(env.clock, env.compensation.backoff(attempt), waitSignal(env, run)))) return;
      if (env.stopping()) return;
      continue;
    }
    await commit(env, run, (record) => compensationDone(run, record, group, step, attempt, gaveUp.length > 0));
    return;
  }
}

/** `compensation.done`, merged with the next group's starts (or `saga.compensated`) when the group is done. */
function compensationDone(
  run: SagaRun,
  record: SagaRecord,
  group: readonly SagaStepDefinition[],
  step: SagaStepDefinition,
  attempt: number,
  siblingGaveUp: boolean,
): Change {
  const { [step.name]: _undone, ...outputs } = record.outputs;
  const done: TransitionInput = { kind: TransitionKind.CompensationDone, step: step.name, attempt };
  const groupDone = group.every((s) => s.name === step.name || run.replay.compDone.has(s.name));
  if (siblingGaveUp || !groupDone) return { patch: { outputs }, transitions: [done] };
  const next = nextCompensationGroup(run.def, run.replay, step.name);
  if (next === undefined) {
    return {
      patch: { outputs, status: SagaStatus.Compensated },
      transitions: [done, { kind: TransitionKind.SagaCompensated }],
    };
  }
  const starts = next.filter((s) => !run.replay.compStarted.has(s.name)).map((s) => compensationStarted(run, s));
  return { patch: { outputs }, transitions: [done, ...starts] };
}

function parked(run: SagaRun, record: SagaRecord, gaveUp: readonly GiveUp[]): Change {
  const first = gaveUp[0];
  const steps = gaveUp.map((g) => g.step);
  const error = sagaError(
    'SY_SAGA_COMPENSATION_FAILED',
    `saga "${run.def.name}" (${run.id}): compensation of ${steps.map((s) => `"${s}"`).join(', ')} failed ` +
      `${first?.attempts ?? 0} times (last: ${first?.error.message ?? 'unknown'}); parked: retry or abort it`,
    {
      details: {
        sagaId: run.id,
        steps,
        attempts: first?.attempts ?? 0,
        lastError: errorToJson(first?.error),
        sagaError: errorToJson(record.error),
      },
    },
  ).toJSON();
  return {
    patch: { status: SagaStatus.Parked, parkedDirection: 'backward', error },
    transitions: [{ kind: TransitionKind.SagaParked, error }],
  };
}

// --- calls ---

/**
 * One attempt of a step's `execute` or `compensate`, in its own span: the user's function runs
 * with that span active and gets its trace context in `ctx.meta`, so the calls it makes are
 * children of the attempt.
 */
function runAttemptOf(
  env: RunEnv,
  run: SagaRun,
  step: SagaStepDefinition,
  phase: StepPhase,
  attempt: number,
): Promise<unknown> {
  const { telemetry } = env;
  const attemptOf = (call: (signal: AbortSignal) => unknown) =>
    runAttempt({
      clock: env.clock,
      stopSignal: run.controller.signal,
      timeoutMs: step.timeoutMs,
      what: `saga "${run.def.name}" step "${step.name}" (${phase})`,
      call,
    });
  // Neither tracing nor metrics: the plain call, nothing to measure.
  if (run.segment?.noop === true && !telemetry.timed) {
    return attemptOf((signal) => callStep(run, step, phase, attempt, signal, run.record.meta));
  }
  const span = telemetry.startAttempt(run.segment, run.id, step, phase, attempt);
  const started = telemetry.timed ? performance.now() : 0;
  return attemptOf((signal) =>
    withSpan(span, () => callStep(run, step, phase, attempt, signal, attemptMeta(span, run.record.meta))),
  ).then(
    (value) => {
      telemetry.endAttempt(span, step, phase, started);
      return value;
    },
    (error: unknown) => {
      telemetry.endAttempt(span, step, phase, started, error);
      throw error;
    },
  );
}

function callStep(
  run: SagaRun,
  step: SagaStepDefinition,
  phase: StepPhase,
  attempt: number,
  signal: AbortSignal,
  meta: Readonly<Record<string, string>>,
): unknown {
  const ctx: StepContext<unknown, unknown> = {
    sagaId: run.id,
    name: run.def.name,
    input: run.record.input,
    results: run.record.outputs,
    step: step.name,
    phase,
    idempotencyKey: `${run.id}:${step.name}:${phase}`,
    attempt,
    signal,
    meta,
  };
  if (phase === 'execute') return step.execute(ctx);
  return step.compensate?.({ ...ctx, output: run.record.outputs[step.name] });
}

/**
 * A failure as stored: a SwitchyardError as it is, anything else wrapped as
 * `SY_SAGA_STEP_FAILED` keeping its message.
 */
export function toErrorJSON(error: unknown, step: string): SwitchyardErrorJSON {
  if (isSwitchyardError(error)) return error.toJSON();
  const message = error instanceof Error ? error.message : String(error);
  const details: Record<string, JsonValue> = { step };
  if (error instanceof Error && error.name !== 'Error') details.name = error.name;
  return sagaError('SY_SAGA_STEP_FAILED', message, { details }).toJSON();
}

function errorToJson(error: SwitchyardErrorJSON | undefined): JsonValue {
  if (error === undefined) return null;
  const out: { [key: string]: JsonValue } = { code: error.code, message: error.message };
  if (error.details !== undefined) out.details = error.details;
  if (error.retryable !== undefined) out.retryable = error.retryable;
  return out;
}
