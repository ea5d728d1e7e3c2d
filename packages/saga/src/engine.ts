import { channel } from 'node:diagnostics_channel';
import {
  type BackoffDelay,
  cancelledError,
  exponentialBackoff,
  type JsonValue,
  parseDuration,
  type SwitchyardErrorJSON,
} from '@switchyard/core';
import type { Disposable } from '@switchyard/resilience';
import { withContext } from '@switchyard/telemetry';
import type { SagaDefinition, SagaStepDefinition } from './definition.ts';
import { resolveSagaEngineOptions, type SagaEngineOptions } from './engine-options.ts';
import { sagaError } from './errors.ts';
import { killEngine } from './internal/engine-kill.ts';
import { applyTransition, type ReplayedSaga, replayHistory } from './internal/engine-replay.ts';
import { driveSaga, markLost, type RunEnv, type SagaRun } from './internal/engine-run.ts';
import { createEngineTelemetry, type SagaSegment, type SegmentOrigin } from './internal/engine-telemetry.ts';
import { every } from './internal/engine-timer.ts';
import { writeCreate } from './internal/engine-writer.ts';
import { abortedRecord, loadParked, operatorTransition, retriedRecord } from './internal/operator-writes.ts';
import { toJsonValue } from './internal/step-json.ts';
import {
  activeSagaStatuses,
  type SagaPage,
  type SagaQuery,
  type SagaRecord,
  SagaStatus,
  type SagaTransition,
  TransitionKind,
} from './store.ts';
import { withTraceHeaders } from './trace-headers.ts';

/** How a saga ended up: `completed` with every output, or resting elsewhere with its error. */
export type SagaOutcome<Results = Readonly<Record<string, JsonValue>>> =
  | { readonly id: string; readonly status: 'completed'; readonly outputs: Results; readonly error?: undefined }
  | {
      readonly id: string;
      readonly status: 'compensated' | 'parked' | 'aborted';
      /** Outputs of the steps not compensated (steps without `compensate`). */
      readonly outputs: Partial<Results>;
      /** The error that turned the saga backward, or that parked it. */
      readonly error: SwitchyardErrorJSON | undefined;
    };

/** Options of {@link SagaEngine.begin}. */
export interface BeginOptions {
  /** The saga id; must be new in the store. @default a random UUID */
  readonly id?: string;
  /**
   * Propagation headers (`traceparent`, `baggage`) kept with the saga and handed to every step
   * as `ctx.meta`. When a span is active (telemetry set up), its context replaces the given
   * `traceparent`, so the saga's spans are children of the code that began it.
   */
  readonly meta?: Readonly<Record<string, string>>;
  /** Gives up retrying the first write when the store is down (rejects `SY_CANCELLED`). */
  readonly signal?: AbortSignal;
}

/** Options of {@link SagaEngine.retry} and {@link SagaEngine.abort}. */
export interface OperatorOptions {
  /** Who and why, kept in the history (`saga.retried`, `saga.aborted`). */
  readonly reason?: string;
}

/** A listener for transitions: called after the write that holds them is durable, in order. */
export type TransitionListener = (transition: SagaTransition, saga: SagaRecord) => void;

/** A listener for failures the engine handles itself (a store write retried, a listener that threw). */
export type EngineErrorListener = (
  error: unknown,
  context: { readonly sagaId?: string; readonly operation: string },
) => void;

/** The orchestrator: begins, drives, recovers and takes over sagas kept in a {@link SagaStore}. */
export interface SagaEngine {
  /** This engine's name in leases and history. */
  readonly owner: string;
  /**
   * Initialises the store, recovers the unfinished sagas this engine knows (claiming those with
   * no owner or an ended lease), and starts lease renewal and takeover polling. Idempotent.
   */
  start(): Promise<void>;
  /** Claims and resumes unfinished sagas now (the engine also does it every `pollInterval`); resolves with how many. */
  recover(): Promise<number>;
  /**
   * Starts a saga: resolves with its id once `saga.started` is durable; the engine drives it in
   * the background.
   *
   * @throws SwitchyardError `SY_SAGA_ENGINE_STOPPED` (before `start()` or after `stop()`),
   *   `SY_SAGA_UNKNOWN_DEFINITION`, `SY_SAGA_NOT_JSON`, `SY_SAGA_DUPLICATE_ID`, `SY_CANCELLED`
   */
  begin<Input, Results>(
    saga: SagaDefinition<Input, Results>,
    input: NoInfer<Input>,
    options?: BeginOptions,
  ): Promise<string>;
  /** {@link SagaEngine.begin}, then {@link SagaEngine.wait}. */
  run<Input, Results>(
    saga: SagaDefinition<Input, Results>,
    input: NoInfer<Input>,
    options?: BeginOptions,
  ): Promise<SagaOutcome<Results>>;
  /**
   * Resolves when the saga rests: completed, compensated, parked or aborted (driven by this
   * engine or another one sharing the store).
   *
   * @throws SwitchyardError `SY_SAGA_NOT_FOUND`, `SY_CANCELLED` when `signal` aborts
   */
  wait(id: string, options?: { readonly signal?: AbortSignal }): Promise<SagaOutcome>;
  get(id: string): Promise<SagaRecord | undefined>;
  /** Every transition of the saga, in order. */
  history(id: string): Promise<SagaTransition[]>;
  /** Sagas newest first, filtered by status and name, a page at a time. */
  list(query?: SagaQuery): Promise<SagaPage>;
  /**
   * Resumes a parked saga the way it was going, with fresh attempt counts; this engine drives it.
   *
   * @throws SwitchyardError `SY_SAGA_NOT_PARKED`, `SY_SAGA_NOT_FOUND`, `SY_SAGA_UNKNOWN_DEFINITION`,
   *   `SY_SAGA_CONFLICT` (changed meanwhile), `SY_SAGA_ENGINE_STOPPED`
   */
  retry(id: string, options?: OperatorOptions): Promise<void>;
  /**
   * Gives up on a parked saga: status `aborted`, no more work. What its compensations left
   * undone is for the operator to settle by hand.
   *
   * @throws SwitchyardError `SY_SAGA_NOT_PARKED`, `SY_SAGA_NOT_FOUND`, `SY_SAGA_CONFLICT`
   */
  abort(id: string, options?: OperatorOptions): Promise<void>;
  /** Listens to every transition this engine writes (for metrics, logs, the dashboard). */
  onTransition(listener: TransitionListener): Disposable;
  /** Listens to failures the engine recovers from itself. Without a listener they go to `console.error`. */
  onError(listener: EngineErrorListener): Disposable;
  /**
   * Stops taking work, lets running calls finish for up to `timeout` (then aborts their signal
   * and abandons them), and releases its leases so another engine can take over at once.
   * Idempotent; does not close the store.
   */
  stop(options?: { readonly timeout?: string | number }): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const restingStatuses: ReadonlySet<string> = new Set([
  SagaStatus.Completed,
  SagaStatus.Compensated,
  SagaStatus.Parked,
  SagaStatus.Aborted,
]);
const transitionChannel = channel('switchyard:saga:transition');

/**
 * Creates a saga engine. Call `start()` before `begin()`.
 *
 * Every transition is written to the store before the engine acts on it, so after a crash
 * another engine (or this one restarted) resumes each saga where it was: forward if it was going
 * forward, backward if it was compensating. Leases (`store.claim`/`renew`) and the record's
 * `version` make sure two engines never drive the same saga.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`saga.engine.concurrency: ...`)
 * @example
 * ```ts
 * const engine = createSagaEngine({ store: createMemorySagaStore(), sagas: [order] });
 * await engine.start();
 * const outcome = await engine.run(order, { orderId: 'o-1', amount: 42 });
 * console.log(outcome.status); // 'completed'
 * await engine.stop();
 * ```
 */
export function createSagaEngine(input: SagaEngineOptions): SagaEngine {
  const options = resolveSagaEngineOptions(input);
  const { store, clock, owner, sagas } = options;
  const leaseMs = options.leaseDurationMs;
  const hard = new AbortController();
  const stoppingController = new AbortController();
  const held = new Map<string, SagaRun>();
  const queue: SagaRun[] = [];
  const driving = new Set<Promise<void>>();
  const listeners = new Set<TransitionListener>();
  const errorListeners = new Set<EngineErrorListener>();
  const waiters = new Map<string, Set<(saga: SagaRecord) => void>>();
  const stepBackoffs = new WeakMap<SagaStepDefinition, BackoffDelay>();
  let phase: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  let startPromise: Promise<void> | undefined;
  let stopPromise: Promise<void> | undefined;
  let cancelTimers: (() => void)[] = [];
  const telemetry = createEngineTelemetry(sagas);

  const report = (error: unknown, operation: string, sagaId?: string): void => {
    const context = sagaId === undefined ? { operation } : { operation, sagaId };
    if (errorListeners.size === 0) {
      console.error(`switchyard saga engine ${owner}: ${operation}${sagaId ? ` (${sagaId})` : ''} failed`, error);
      return;
    }
    for (const listener of errorListeners) {
      try {
        listener(error, context);
      } catch {
        // An error listener that throws has nowhere left to report to.
      }
    }
  };

  const emit = (transitions: readonly SagaTransition[], saga: SagaRecord, segment?: SagaSegment): void => {
    telemetry.transitions(transitions, saga, segment);
    for (const t of transitions) {
      for (const listener of listeners) {
        try {
          listener(t, saga);
        } catch (error) {
          report(error, 'transition listener', saga.id);
        }
      }
      if (transitionChannel.hasSubscribers) transitionChannel.publish({ transition: t, saga });
    }
    if (restingStatuses.has(saga.status)) for (const waiter of waiters.get(saga.id) ?? []) waiter(saga);
  };

  const stopping = () => phase === 'stopping' || phase === 'stopped';

  const env: RunEnv = {
    store,
    clock,
    owner,
    backoff: exponentialBackoff(options.storeRetry.backoff),
    stopSignal: hard.signal,
    onStoreError: (error, sagaId) => report(error, 'store write (retried)', sagaId),
    compensation: {
      maxAttempts: options.compensation.maxAttempts,
      backoff: exponentialBackoff(options.compensation.backoff),
    },
    stepBackoff: (step) => {
      let delay = stepBackoffs.get(step);
      if (delay === undefined) {
        delay = exponentialBackoff(step.retry.backoff);
        stepBackoffs.set(step, delay);
      }
      return delay;
    },
    stopping,
    stoppingSignal: stoppingController.signal,
    emit,
    telemetry,
    onLost: (run) => {
      if (held.get(run.id) === run) held.delete(run.id);
      const queued = queue.indexOf(run);
      if (queued >= 0) queue.splice(queued, 1);
    },
  };

  const newRun = (
    def: SagaDefinition,
    record: SagaRecord,
    replay: ReplayedSaga,
    leaseUntil: number,
    origin: SegmentOrigin,
  ): SagaRun => ({
    id: record.id,
    def,
    record,
    replay,
    leaseUntil,
    controller: new AbortController(),
    lost: false,
    chain: Promise.resolve(),
    origin,
    segment: undefined,
  });

  const schedule = (run: SagaRun): void => {
    held.set(run.id, run);
    if (stopping()) return;
    if (driving.size < options.concurrency) drive(run);
    else queue.push(run);
  };

  const drive = (run: SagaRun): void => {
    const segment = telemetry.startSegment(run.def, run.record, run.origin, owner);
    run.segment = segment;
    const driven: Promise<void> = (
      segment.noop ? driveSaga(env, run) : withContext(segment.context, () => driveSaga(env, run))
    )
      .catch((error: unknown) => report(error, 'drive', run.id))
      .finally(() => {
        telemetry.endSegment(segment, run.record, run.lost);
        driving.delete(driven);
        const rests = !activeSagaStatuses.includes(run.record.status);
        if ((run.lost || rests) && held.get(run.id) === run) held.delete(run.id);
        const next = stopping() ? undefined : queue.shift();
        if (next !== undefined) drive(next);
      });
    driving.add(driven);
  };

  const unknownDefinition = (name: string) =>
    sagaError(
      'SY_SAGA_UNKNOWN_DEFINITION',
      `saga "${name}": not registered with this engine (known: ${[...sagas.keys()].map((n) => `"${n}"`).join(', ') || 'none'})`,
      { details: { name } },
    );

  const assertStarted = (what: string): void => {
    if (phase !== 'started') {
      throw sagaError(
        'SY_SAGA_ENGINE_STOPPED',
        `${what}: the saga engine is ${phase === 'new' || phase === 'starting' ? 'not started (call start())' : 'stopped'}`,
      );
    }
  };

  // --- leases ---

  const renewLeases = async (): Promise<void> => {
    const runs = [...held.values()].filter((r) => !r.lost);
    if (runs.length === 0) return;
    const until = clock.now() + leaseMs;
    const renewed = new Set(
      await store.renew(
        owner,
        runs.map((r) => r.id),
        until,
      ),
    );
    for (const run of runs) {
      if (renewed.has(run.id)) run.leaseUntil = Math.max(run.leaseUntil, until);
      else if (activeSagaStatuses.includes(run.record.status)) markLost(env, run);
    }
  };

  const adopt = async (record: SagaRecord): Promise<void> => {
    const def = sagas.get(record.name);
    if (def === undefined) return;
    const replay = replayHistory(await store.history(record.id));
    schedule(newRun(def, record, replay, record.leaseUntil ?? clock.now() + leaseMs, 'recovered'));
  };

  const recover = async (): Promise<number> => {
    let total = 0;
    const names = [...sagas.keys()];
    while (!stopping() && names.length > 0) {
      const room = options.concurrency - held.size;
      if (room <= 0) break;
      const now = clock.now();
      const claimed = await store.claim({ owner, now, leaseUntil: now + leaseMs, limit: room, names });
      for (const record of claimed) {
        try {
          await adopt(record);
          total++;
        } catch (error) {
          // Not driven and not renewed: the lease ends and the saga is claimed again.
          report(error, 'recover', record.id);
        }
      }
      if (claimed.length < room) break;
    }
    return total;
  };

  // --- waiting ---

  const outcomeOf = (saga: SagaRecord): SagaOutcome =>
    saga.status === SagaStatus.Completed
      ? { id: saga.id, status: 'completed', outputs: saga.outputs }
      : {
          id: saga.id,
          status: saga.status as 'compensated' | 'parked' | 'aborted',
          outputs: saga.outputs,
          error: saga.error,
        };

  const wait = (id: string, waitOptions: { readonly signal?: AbortSignal } = {}): Promise<SagaOutcome> =>
    new Promise<SagaOutcome>((resolve, reject) => {
      const signal = waitOptions.signal;
      let settled = false;
      let cancelPoll = () => {};
      const onAbort = () => finish(() => reject(cancelledError(signal as AbortSignal, `wait for saga "${id}"`)));
      const onRest = (saga: SagaRecord) => finish(() => resolve(outcomeOf(saga)));
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        cancelPoll();
        signal?.removeEventListener('abort', onAbort);
        const set = waiters.get(id);
        set?.delete(onRest);
        if (set?.size === 0) waiters.delete(id);
        settle();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const set = waiters.get(id) ?? new Set();
      set.add(onRest);
      waiters.set(id, set);
      const check = async (): Promise<void> => {
        try {
          const saga = await store.get(id);
          if (settled) return;
          if (saga === undefined) {
            finish(() =>
              reject(sagaError('SY_SAGA_NOT_FOUND', `saga "${id}": not in the store`, { details: { sagaId: id } })),
            );
            return;
          }
          if (restingStatuses.has(saga.status)) return onRest(saga);
        } catch (error) {
          if (settled) return;
          report(error, 'wait', id);
        }
        // Another engine may drive it: read the store again now and then.
        cancelPoll = clock.setTimeout(() => void check(), options.pollIntervalMs);
      };
      // A saga this engine drives is told by its own writes: no read needed unless that stalls.
      const run = held.get(id);
      if (run === undefined) void check();
      else if (restingStatuses.has(run.record.status)) onRest(run.record);
      else cancelPoll = clock.setTimeout(() => void check(), options.pollIntervalMs);
    });

  // --- operator actions ---

  const retry = async (id: string, retryOptions: OperatorOptions = {}): Promise<void> => {
    assertStarted(`retry saga "${id}"`);
    const record = await loadParked(store, id);
    const def = sagas.get(record.name);
    if (def === undefined) throw unknownDefinition(record.name);
    const replay = replayHistory(await store.history(id));
    const now = clock.now();
    const leaseUntil = now + leaseMs;
    const saga = retriedRecord(record, now, { owner, leaseUntil });
    const t = operatorTransition(record, replay.seq, TransitionKind.SagaRetried, now, owner, retryOptions.reason);
    await store.update({ saga, transitions: [t] }, record.version);
    applyTransition(replay, t);
    emit([t], saga);
    schedule(newRun(def, saga, replay, leaseUntil, 'retried'));
  };

  const abort = async (id: string, abortOptions: OperatorOptions = {}): Promise<void> => {
    const record = await loadParked(store, id);
    const replay = replayHistory(await store.history(id));
    const now = clock.now();
    const saga = abortedRecord(record, now);
    const t = operatorTransition(record, replay.seq, TransitionKind.SagaAborted, now, owner, abortOptions.reason);
    await store.update({ saga, transitions: [t] }, record.version);
    emit([t], saga);
  };

  // --- lifecycle ---

  const start = (): Promise<void> => {
    if (phase === 'stopping' || phase === 'stopped') {
      return Promise.reject(sagaError('SY_SAGA_ENGINE_STOPPED', 'saga engine: start() after stop()'));
    }
    startPromise ??= (async () => {
      phase = 'starting';
      try {
        await store.init();
      } catch (error) {
        // A later start() may try again (the database may be up by then).
        phase = 'new';
        startPromise = undefined;
        throw error;
      }
      phase = 'started';
      cancelTimers = [
        every(clock, options.renewIntervalMs, renewLeases, (e) => report(e, 'lease renewal')),
        every(clock, options.pollIntervalMs, recover, (e) => report(e, 'takeover poll')),
      ];
      await recover();
    })();
    return startPromise;
  };

  const stop = (stopOptions: { readonly timeout?: string | number } = {}): Promise<void> => {
    stopPromise ??= (async () => {
      const timeoutMs = parseDuration(stopOptions.timeout ?? 10_000);
      phase = 'stopping';
      stoppingController.abort(sagaError('SY_SAGA_ENGINE_STOPPED', `saga engine ${owner}: stopping`));
      for (const cancel of cancelTimers) cancel();
      queue.length = 0;
      const drained = Promise.all(driving);
      let cancelTimeout = () => {};
      const timedOut = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((resolve) => {
          cancelTimeout = clock.setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      cancelTimeout();
      const reason = sagaError('SY_SAGA_ENGINE_STOPPED', `saga engine ${owner}: stopped`);
      hard.abort(reason);
      if (timedOut) {
        for (const run of held.values()) run.controller.abort(reason);
        await Promise.all(driving);
      }
      const ids = [...held.values()].filter((r) => !r.lost).map((r) => r.id);
      held.clear();
      // Releasing = a lease that ends now: another engine may claim them at once.
      if (ids.length > 0) await store.renew(owner, ids, clock.now()).catch((e: unknown) => report(e, 'lease release'));
      phase = 'stopped';
    })();
    return stopPromise;
  };

  const kill = (): void => {
    phase = 'stopped';
    stopPromise ??= Promise.resolve();
    stoppingController.abort(sagaError('SY_SAGA_ENGINE_STOPPED', `saga engine ${owner}: killed`));
    for (const cancel of cancelTimers) cancel();
    queue.length = 0;
    const reason = sagaError('SY_SAGA_ENGINE_STOPPED', `saga engine ${owner}: killed`);
    hard.abort(reason);
    for (const run of held.values()) run.controller.abort(reason);
    held.clear();
  };

  const disposable = <T>(set: Set<T>, listener: T): Disposable => {
    set.add(listener);
    const dispose = () => void set.delete(listener);
    return { dispose, [Symbol.dispose]: dispose };
  };

  const begin = async <Input, Results>(
    saga: SagaDefinition<Input, Results>,
    sagaInput: Input,
    beginOptions: BeginOptions = {},
  ): Promise<string> => {
    assertStarted(`begin saga "${saga.name}"`);
    const def = sagas.get(saga.name);
    if (def === undefined) throw unknownDefinition(saga.name);
    const inputJson = toJsonValue(sagaInput, `saga "${def.name}" input`);
    const id = beginOptions.id ?? crypto.randomUUID();
    const now = clock.now();
    const leaseUntil = now + leaseMs;
    const record: SagaRecord = {
      id,
      name: def.name,
      status: SagaStatus.Running,
      input: inputJson,
      outputs: {},
      meta: withTraceHeaders(beginOptions.meta),
      createdAt: now,
      updatedAt: now,
      version: 1,
      owner,
      leaseUntil,
    };
    const first = def.stages[0] ?? [];
    const transitions: SagaTransition[] = [
      { sagaId: id, seq: 1, kind: TransitionKind.SagaStarted, at: now, owner },
      ...first.map(
        (s, i): SagaTransition => ({
          sagaId: id,
          seq: i + 2,
          kind: TransitionKind.StepStarted,
          at: now,
          owner,
          step: s.name,
          attempt: 1,
        }),
      ),
    ];
    await writeCreate(env, { saga: record, transitions }, beginOptions.signal);
    if (hard.signal.aborted) return id;
    emit(transitions, record);
    schedule(newRun(def, record, replayHistory(transitions), leaseUntil, 'begun'));
    return id;
  };

  return {
    owner,
    start,
    recover: () => {
      assertStarted('recover');
      return recover();
    },
    begin,
    async run<Input, Results>(saga: SagaDefinition<Input, Results>, sagaInput: Input, runOptions?: BeginOptions) {
      const id = await begin(saga, sagaInput, runOptions);
      const waitOptions = runOptions?.signal === undefined ? {} : { signal: runOptions.signal };
      return (await wait(id, waitOptions)) as SagaOutcome<Results>;
    },
    wait,
    get: (id) => store.get(id),
    history: (id) => store.history(id),
    list: (query) => store.list(query),
    retry,
    abort,
    onTransition: (listener) => disposable(listeners, listener),
    onError: (listener) => disposable(errorListeners, listener),
    stop,
    [Symbol.asyncDispose]: () => stop(),
    [killEngine]: kill,
  } as SagaEngine;
}
