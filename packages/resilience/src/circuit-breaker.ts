import { type Clock, isSwitchyardError, type SwitchyardError, systemClock } from '@switchyard/core';
import { openPeriodMs } from './breaker/open-period.ts';
import { callWithTimeout } from './breaker/store-call.ts';
import type { TripStrategy } from './breaker/strategy.ts';
import { createTripStrategy } from './breaker/trip-strategy.ts';
import {
  type BreakerStateJSON,
  type CircuitBreakerOptions,
  type ResolvedCircuitBreakerOptions,
  type ResolvedSharedBreakerOptions,
  resolveCircuitBreakerOptions,
} from './breaker-options.ts';
import type { BreakerStateStore, OpenPeriod, SharedBreakerState } from './breaker-state-store.ts';
import { toContext } from './context.ts';
import { resilienceError } from './errors.ts';
import { Event } from './events.ts';
import {
  type Disposable,
  type Listener,
  type Operation,
  type OutcomeClassifier,
  type Policy,
  type PolicyContext,
  Verdict,
} from './types.ts';

/**
 * A breaker's state. `closed`: calls run. `open`: calls are refused until the probe time.
 * `half-open`: a few probe calls run; their outcome closes or reopens the breaker.
 * `isolated`: refused by hand, through {@link CircuitBreaker.isolate}, until released.
 */
export const CircuitState = {
  Closed: 'closed',
  Open: 'open',
  HalfOpen: 'half-open',
  Isolated: 'isolated',
} as const;
export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];

/** Why a breaker changed state. */
export type BreakerTransitionReason =
  /** The trip policy tripped (closed -> open). */
  | 'tripped'
  /** The open period passed and a call arrived, or the state was read (open -> half-open). */
  | 'probe-time'
  /** Enough probes succeeded (half-open -> closed). */
  | 'probe-succeeded'
  /** A probe failed or was slow (half-open -> open, with a longer open period). */
  | 'probe-failed'
  /** `isolate()` (any -> isolated). */
  | 'isolated'
  /** The last isolation handle was disposed (isolated -> closed, or the shared state). */
  | 'released'
  /** `reset()`. */
  | 'reset'
  /** The state shared by the fleet changed (shared mode). */
  | 'shared';

/** Payload of {@link CircuitBreaker.onStateChange}. */
export interface BreakerStateChangeEvent {
  readonly name: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: BreakerTransitionReason;
  /** When it happened (ms on the breaker's clock). */
  readonly at: number;
  /** Consecutive trips without closing (0 once closed). */
  readonly trips: number;
  /** When an open breaker will probe (ms on the breaker's clock); only for `to: 'open'`. */
  readonly probeAt?: number;
}

/** Fields of every {@link BreakerOutcomeEvent}. */
export interface BreakerCallInfo {
  readonly name: string;
  /** How long the call took (ms). */
  readonly durationMs: number;
  /** True for a half-open probe call. */
  readonly probe: boolean;
  /** True when the call took longer than the trip policy's `slowCallDuration`. */
  readonly slow: boolean;
}

/**
 * Payload of {@link CircuitBreaker.onSuccess}, {@link CircuitBreaker.onFailure} and
 * {@link CircuitBreaker.onIgnored}: the call and what it ended with, an error or a result (the
 * classifier decides the verdict of each).
 */
export type BreakerOutcomeEvent = BreakerCallInfo &
  ({ readonly kind: 'error'; readonly error: unknown } | { readonly kind: 'result'; readonly result: unknown });

/** Payload of {@link CircuitBreaker.onRejected}. */
export interface BreakerRejectedEvent {
  readonly name: string;
  readonly state: CircuitState;
  /** `SY_RESILIENCE_CIRCUIT_OPEN` or `SY_RESILIENCE_CIRCUIT_ISOLATED`, as thrown to the caller. */
  readonly error: SwitchyardError;
  /** Milliseconds until the breaker probes; absent when isolated. */
  readonly retryAfterMs?: number;
}

/** The store call that failed, in {@link BreakerStoreErrorEvent}. */
export type BreakerStoreOperation = 'report' | 'acquireProbe' | 'completeProbe' | 'reset' | 'watch';

/**
 * Payload of {@link CircuitBreaker.onStoreError} (shared mode): a store call failed or timed
 * out, and the breaker now decides alone (degraded) until a later report succeeds.
 */
export interface BreakerStoreErrorEvent {
  readonly name: string;
  readonly operation: BreakerStoreOperation;
  readonly error: unknown;
  /** True when this error switched the breaker to local decisions (the first error of a spell). */
  readonly degraded: boolean;
}

/** A breaker's counts and state at one moment, for metrics and the admin API. JSON-safe. */
export interface BreakerSnapshot {
  readonly name: string;
  /** As {@link CircuitBreaker.state}: half-open once the probe time has passed. */
  readonly state: CircuitState;
  /** Calls in the trip policy's window (successes + failures; ignored calls are not counted). */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** Failures since the last success. */
  readonly consecutiveFailures: number;
  /** `failures / calls` in the window, 0 when empty. */
  readonly failureRate: number;
  /** `slowCalls / calls` in the window, 0 when empty. */
  readonly slowCallRate: number;
  /** Consecutive trips without closing in between; sets the open period. 0 when closed. */
  readonly trips: number;
  /** When the breaker opened (ms on its clock), while open or half-open. */
  readonly openedAt?: number;
  /** When the breaker probes (ms on its clock), while open or half-open. */
  readonly probeAt?: number;
  /**
   * Half-open probes running and successes counted. In shared mode: this replica's probes in
   * flight and the fleet's successes.
   */
  readonly probes: { readonly inFlight: number; readonly successes: number };
  /** Isolation handles not yet disposed. */
  readonly isolations: number;
  /** Counts since the breaker was created, for `_total` metrics. */
  readonly totals: {
    readonly successes: number;
    readonly failures: number;
    readonly ignored: number;
    readonly rejected: number;
  };
  /** Present in shared mode. */
  readonly shared?: {
    readonly replicaId: string;
    /** True while the store fails and the breaker decides alone. */
    readonly degraded: boolean;
    /** Store calls that failed or timed out since creation. */
    readonly storeErrors: number;
    /** True while this replica reports its local policy as tripped. */
    readonly tripped: boolean;
    /** The fleet's state as last read (absent before the first answer). */
    readonly fleet?: {
      readonly state: SharedBreakerState['state'];
      readonly generation: number;
      readonly tripped: number;
      readonly replicas: number;
      /** When it was read (ms on the breaker's clock). */
      readonly readAt: number;
    };
  };
}

/**
 * A circuit breaker: a {@link Policy} that stops calling a failing dependency for a while, so
 * it can recover and callers fail fast instead of queueing behind timeouts.
 */
export interface CircuitBreaker extends Policy {
  readonly name: string;
  /** The current state; `half-open` as soon as the probe time has passed. */
  readonly state: CircuitState;
  /**
   * Runs `operation` when the breaker lets it through, passing the caller's context (or a
   * fresh one for a bare signal) unchanged; its result or error comes back unchanged.
   *
   * @throws SwitchyardError `SY_RESILIENCE_CIRCUIT_OPEN` (retryable) when open, or half-open
   *   with every probe slot taken; `details: { breaker, state, retryAfterMs }`. The operation
   *   is not run.
   * @throws SwitchyardError `SY_RESILIENCE_CIRCUIT_ISOLATED` while isolated.
   */
  execute<T>(operation: Operation<T>, signal?: AbortSignal | PolicyContext): Promise<T>;
  /** The state and counts now. */
  snapshot(): BreakerSnapshot;
  /** Every change of state. */
  onStateChange(listener: Listener<BreakerStateChangeEvent>): Disposable;
  /** Every call judged a success. */
  onSuccess(listener: Listener<BreakerOutcomeEvent>): Disposable;
  /** Every call judged a failure. */
  onFailure(listener: Listener<BreakerOutcomeEvent>): Disposable;
  /** Every call judged neither (ignored: by default, calls the caller cancelled). */
  onIgnored(listener: Listener<BreakerOutcomeEvent>): Disposable;
  /** Every refused call. */
  onRejected(listener: Listener<BreakerRejectedEvent>): Disposable;
  /** Every failed or timed-out call to the shared state store (shared mode). */
  onStoreError(listener: Listener<BreakerStoreErrorEvent>): Disposable;
  /**
   * Holds the breaker isolated: every call is refused with `SY_RESILIENCE_CIRCUIT_ISOLATED`
   * until each handle returned so far is disposed; the breaker then closes with empty counts
   * (in shared mode it follows the fleet's state again). Isolation is local to this replica.
   */
  isolate(): Disposable;
  /**
   * Closes the breaker and clears its counts and trips. An isolated breaker stays isolated
   * (the handles' owners release it). In shared mode it also resets the fleet's state.
   */
  reset(): void;
  /** The state to save and restore through the `initialState` option. */
  toJSON(): BreakerStateJSON;
  /**
   * Stops the shared-state sync (timer and watch) and waits for the store call in flight.
   * The breaker keeps deciding alone afterwards. Idempotent; a local breaker has nothing to stop.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What {@link createCircuitBreaker} needs from its surroundings. */
export interface CircuitBreakerDeps {
  /** Time for windows, open periods and the sync timer. @default systemClock */
  readonly clock?: Clock;
}

/**
 * The breaker's default verdict for an error: a failure, except `SY_CANCELLED` (the caller
 * gave up, which says nothing about the dependency), which is ignored. Use it to extend the
 * default in a classifier of your own.
 *
 * @example
 * ```ts
 * const breaker = createCircuitBreaker({
 *   classify: { error: (err) => (isNotFound(err) ? 'success' : defaultErrorVerdict(err)) },
 * });
 * ```
 */
export function defaultErrorVerdict(error: unknown): Verdict {
  return isSwitchyardError(error, 'SY_CANCELLED') ? Verdict.Ignore : Verdict.Failure;
}

/**
 * Creates a circuit breaker.
 *
 * Closed, it runs calls and feeds their verdicts to the trip policy. When the policy trips it
 * opens for `openDuration` (growing with `openBackoff` on repeated trips) and refuses calls
 * with `SY_RESILIENCE_CIRCUIT_OPEN`. Once the open period has passed, the next call finds it
 * half-open: up to `halfOpen.maxProbes` probe calls run at once, `halfOpen.successesToClose`
 * successes close it, and any failed (or slow) probe opens it again for a longer period.
 *
 * With `shared`, the replicas of a service share one state through a {@link BreakerStateStore}:
 * each replica's policy votes, a quorum of tripped replicas opens the breaker for the fleet,
 * and the fleet sends `maxProbes` probes in all. Decisions use the cached shared state, so
 * the store is never on the path of a closed breaker's call, and a failing store degrades the
 * breaker to local decisions rather than failing calls.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`resilience.breaker.trip.failureRate: ...`)
 * @example
 * ```ts
 * import { createCircuitBreaker } from '@switchyard/resilience';
 *
 * const breaker = createCircuitBreaker({ name: 'payments', trip: { type: 'consecutive', failures: 3 } });
 * const res = await breaker.execute(({ signal }) => fetch('http://127.0.0.1:8080/pay', { signal }));
 * ```
 */
export function createCircuitBreaker(
  options: CircuitBreakerOptions = {},
  deps: CircuitBreakerDeps = {},
): CircuitBreaker {
  return new Breaker(resolveCircuitBreakerOptions(options), deps.clock ?? systemClock);
}

/**
 * Builds a breaker from options already resolved (the registry validates under its own
 * paths). Internal to the package.
 */
export function createResolvedCircuitBreaker(options: ResolvedCircuitBreakerOptions, clock: Clock): CircuitBreaker {
  return new Breaker(options, clock);
}

/** A context for calls made without a signal: immutable, so one serves them all (no allocation). */
const idleContext: PolicyContext = Object.freeze(toContext(undefined));

/** How a call runs: a plain call (closed), a local probe, or a probe granted by the store. */
const RUN_CALL = 0;
const RUN_PROBE = 1;
const RUN_SHARED_PROBE = 2;

const noListeners = 0;

class Breaker implements CircuitBreaker {
  readonly name: string;
  readonly #options: ResolvedCircuitBreakerOptions;
  readonly #clock: Clock;
  readonly #strategy: TripStrategy;
  readonly #classifyError: OutcomeClassifier['error'];
  readonly #classifyResult: OutcomeClassifier['result'];
  readonly #slowMs: number | undefined;
  /** The end of a plain call needs the clock (the time window, slow calls). */
  readonly #endNeedsTime: boolean;
  readonly #openPeriod: OpenPeriod;
  readonly #maxProbes: number;
  readonly #successesToClose: number;

  #state: CircuitState = CircuitState.Closed;
  /**
   * Increments on every change of state. A call remembers it when it starts, and its outcome
   * counts only if nothing changed meanwhile: a failure that started before the breaker opened
   * must not count in the window of the next closed period, nor a probe after a reset.
   */
  #generation = 0;
  #trips = 0;
  #openedAt: number | undefined;
  #probeAt = 0;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  #isolations = 0;

  #successes = 0;
  #failures = 0;
  #ignored = 0;
  #rejected = 0;

  readonly #stateChanged = new Event<BreakerStateChangeEvent>();
  readonly #succeeded = new Event<BreakerOutcomeEvent>();
  readonly #failed = new Event<BreakerOutcomeEvent>();
  readonly #ignoredCalls = new Event<BreakerOutcomeEvent>();
  readonly #refused = new Event<BreakerRejectedEvent>();
  readonly #storeFailed = new Event<BreakerStoreErrorEvent>();

  // Shared mode.
  readonly #shared: ResolvedSharedBreakerOptions | undefined;
  /** True while the store fails: the breaker runs its own state machine. */
  #degraded = false;
  /** `close()` was called: no more sync; local decisions. */
  #closed = false;
  #closing: Promise<void> | undefined;
  #fleet: SharedBreakerState | undefined;
  #fleetReadAt = 0;
  /** Increments each time a shared state is applied; detects answers overtaken by newer news. */
  #fleetSeq = 0;
  /** This replica reports `tripped: true` until then (local clock). */
  #trippedUntil = Number.NEGATIVE_INFINITY;
  #storeErrors = 0;
  #syncing: Promise<void> | undefined;
  #syncAgain = false;
  #cancelTimer: (() => void) | undefined;
  #watch: Disposable | undefined;
  /** Shared probes this replica is acquiring or running. */
  #sharedProbes = 0;
  /** A granted slot an ignored probe left unused, reusable by the next call until `#heldUntil`. */
  #heldGeneration = -1;
  #heldUntil = 0;
  /**
   * The store refused a slot in this generation, and no news came since (`#fleetSeq` equal):
   * refuse locally rather than ask again on every call, which would put the store on the path
   * of every request while the fleet's slots are taken. News comes at least every syncInterval.
   */
  #deniedGeneration = -1;
  #deniedSeq = -1;

  constructor(options: ResolvedCircuitBreakerOptions, clock: Clock) {
    this.name = options.name;
    this.#options = options;
    this.#clock = clock;
    const now = clock.now();
    this.#strategy = createTripStrategy(options.trip, now);
    this.#classifyError = options.classify?.error;
    this.#classifyResult = options.classify?.result;
    this.#slowMs = this.#strategy.slowCallMs;
    this.#endNeedsTime = this.#strategy.usesTime || this.#slowMs !== undefined;
    this.#openPeriod = Object.freeze({
      baseMs: options.openDurationMs,
      factor: options.openBackoff?.factor ?? 1,
      maxMs: options.openBackoff?.maxMs ?? options.openDurationMs,
    });
    this.#maxProbes = options.halfOpen.maxProbes;
    this.#successesToClose = options.halfOpen.successesToClose;
    this.#shared = options.shared;

    const initial = options.initialState;
    if (initial !== undefined && initial.state !== 'closed') {
      this.#state = CircuitState.Open;
      this.#trips = Math.max(1, initial.trips);
      this.#openedAt = initial.openedAt;
      const probeAt = initial.probeAt ?? now;
      this.#probeAt = initial.state === 'half-open' ? Math.min(probeAt, now) : probeAt;
    }
    if (this.#shared !== undefined) this.#startSync(this.#shared);
  }

  get state(): CircuitState {
    this.#advance(this.#clock.now());
    return this.#state;
  }

  // -------------------------------------------------------------------------------------------
  // Calls
  // -------------------------------------------------------------------------------------------

  execute<T>(operation: Operation<T>, signal?: AbortSignal | PolicyContext): Promise<T> {
    // The hot path: a closed breaker runs the call with one comparison in front of it.
    if (this.#state === CircuitState.Closed) return this.#run(operation, signal, RUN_CALL, 0);
    return this.#executeGuarded(operation, signal);
  }

  /**
   * Runs one call and judges it. An `async` function with try/await/catch: no closure per call,
   * and `await` on a plain value works for operations that return synchronously.
   */
  async #run<T>(
    operation: Operation<T>,
    signal: AbortSignal | PolicyContext | undefined,
    kind: number,
    fleetGeneration: number,
  ): Promise<T> {
    const context = signal === undefined ? idleContext : toContext(signal);
    const timed =
      kind !== RUN_CALL ||
      this.#slowMs !== undefined ||
      this.#succeeded.size + this.#failed.size + this.#ignoredCalls.size > noListeners;
    const start = timed ? this.#clock.now() : 0;
    const generation = this.#generation;
    let value: T;
    try {
      value = await operation(context);
    } catch (error) {
      this.#settle(this.#errorVerdict(error), true, error, timed, start, generation, kind, fleetGeneration);
      throw error;
    }
    this.#settle(this.#resultVerdict(value), false, value, timed, start, generation, kind, fleetGeneration);
    return value;
  }

  #errorVerdict(error: unknown): Verdict {
    const classify = this.#classifyError;
    if (classify === undefined) return defaultErrorVerdict(error);
    try {
      const verdict = classify(error);
      return verdict === Verdict.Success || verdict === Verdict.Ignore ? verdict : Verdict.Failure;
    } catch {
      return Verdict.Failure;
    }
  }

  #resultVerdict(value: unknown): Verdict {
    const classify = this.#classifyResult;
    if (classify === undefined) return Verdict.Success;
    try {
      const verdict = classify(value);
      return verdict === Verdict.Failure || verdict === Verdict.Ignore ? verdict : Verdict.Success;
    } catch {
      // A classifier that cannot judge a result is not evidence of a healthy dependency.
      return Verdict.Failure;
    }
  }

  #settle(
    verdict: Verdict,
    isError: boolean,
    outcome: unknown,
    timed: boolean,
    start: number,
    generation: number,
    kind: number,
    fleetGeneration: number,
  ): void {
    const haveNow = timed || this.#endNeedsTime;
    const now = haveNow ? this.#clock.now() : 0;
    const durationMs = timed ? now - start : 0;
    const slow = this.#slowMs !== undefined && durationMs > this.#slowMs;
    let event: Event<BreakerOutcomeEvent>;
    if (verdict === Verdict.Success) {
      this.#successes++;
      event = this.#succeeded;
    } else if (verdict === Verdict.Failure) {
      this.#failures++;
      event = this.#failed;
    } else {
      this.#ignored++;
      event = this.#ignoredCalls;
    }
    if (event.size > noListeners) {
      const probe = kind !== RUN_CALL;
      event.emit(
        isError
          ? { name: this.name, durationMs, probe, slow, kind: 'error', error: outcome }
          : { name: this.name, durationMs, probe, slow, kind: 'result', result: outcome },
      );
    }
    if (kind === RUN_CALL) {
      if (verdict === Verdict.Ignore || generation !== this.#generation || this.#state !== CircuitState.Closed) return;
      if (this.#strategy.record(verdict === Verdict.Failure, slow, now))
        this.#onTrip(haveNow ? now : this.#clock.now());
    } else if (kind === RUN_PROBE) {
      if (generation !== this.#generation) return;
      this.#probesInFlight--;
      if (verdict !== Verdict.Ignore) this.#probeOutcome(verdict === Verdict.Success && !slow, now);
    } else {
      this.#sharedProbes--;
      if (verdict === Verdict.Ignore) {
        // The store has no neutral outcome, so the slot is kept for this replica's next call
        // (within half the lease, well before the fleet gives it up) rather than wasted.
        this.#heldGeneration = fleetGeneration;
        this.#heldUntil = start + (this.#shared as ResolvedSharedBreakerOptions).probeLeaseMs / 2;
        return;
      }
      void this.#completeProbe(fleetGeneration, verdict === Verdict.Success && !slow);
    }
  }

  /** A finished local probe: success counts towards closing; failure reopens. */
  #probeOutcome(success: boolean, now: number): void {
    if (this.#state !== CircuitState.HalfOpen) return;
    if (!success) {
      this.#openNow(now, 'probe-failed');
      return;
    }
    if (++this.#probeSuccesses >= this.#successesToClose) this.#closeNow(now, 'probe-succeeded');
  }

  /** Every path but a closed breaker's call. `async`, so a refusal is a rejection, not a throw. */
  async #executeGuarded<T>(operation: Operation<T>, signal: AbortSignal | PolicyContext | undefined): Promise<T> {
    const state = this.#state;
    if (state === CircuitState.Closed) return this.#run(operation, signal, RUN_CALL, 0);
    if (state === CircuitState.Isolated) throw this.#isolatedError();
    const now = this.#clock.now();
    if (state === CircuitState.Open) {
      if (now < this.#probeAt) throw this.#openError(CircuitState.Open, this.#probeAt - now);
      this.#toHalfOpen(now);
    }
    if (this.#followsFleet()) return this.#sharedProbe(operation, signal, now);
    if (this.#probesInFlight >= this.#maxProbes) throw this.#openError(CircuitState.HalfOpen, 0);
    this.#probesInFlight++;
    return this.#run(operation, signal, RUN_PROBE, 0);
  }

  #openError(state: CircuitState, retryAfter: number): SwitchyardError {
    const retryAfterMs = Math.max(0, Math.ceil(retryAfter));
    const message =
      state === CircuitState.Open
        ? `circuit breaker "${this.name}" is open; it will let a probe through in ${retryAfterMs}ms`
        : `circuit breaker "${this.name}" is half-open and its ${this.#maxProbes} probe slot(s) are taken; retry shortly`;
    const error = resilienceError('SY_RESILIENCE_CIRCUIT_OPEN', message, {
      details: { breaker: this.name, state, retryAfterMs },
    }) as SwitchyardError;
    this.#rejected++;
    if (this.#refused.size > noListeners) this.#refused.emit({ name: this.name, state, error, retryAfterMs });
    return error;
  }

  #isolatedError(): SwitchyardError {
    const error = resilienceError(
      'SY_RESILIENCE_CIRCUIT_ISOLATED',
      `circuit breaker "${this.name}" is isolated and refuses every call until released`,
      { details: { breaker: this.name, state: CircuitState.Isolated } },
    ) as SwitchyardError;
    this.#rejected++;
    if (this.#refused.size > noListeners) this.#refused.emit({ name: this.name, state: CircuitState.Isolated, error });
    return error;
  }

  // -------------------------------------------------------------------------------------------
  // Local state machine
  // -------------------------------------------------------------------------------------------

  #setState(to: CircuitState, now: number, reason: BreakerTransitionReason): void {
    const from = this.#state;
    this.#state = to;
    this.#generation++;
    if (from === to || this.#stateChanged.size === noListeners) return;
    this.#stateChanged.emit(
      to === CircuitState.Open
        ? { name: this.name, from, to, reason, at: now, trips: this.#trips, probeAt: this.#probeAt }
        : { name: this.name, from, to, reason, at: now, trips: this.#trips },
    );
  }

  /** Lazily turns an open breaker whose period has passed into half-open. */
  #advance(now: number): void {
    if (this.#state === CircuitState.Open && now >= this.#probeAt) this.#toHalfOpen(now);
  }

  #toHalfOpen(now: number): void {
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    this.#setState(CircuitState.HalfOpen, now, 'probe-time');
  }

  #openNow(now: number, reason: BreakerTransitionReason): void {
    this.#trips++;
    this.#openedAt = now;
    this.#probeAt = now + openPeriodMs(this.#openPeriod, this.#trips);
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    this.#strategy.reset(now);
    this.#setState(CircuitState.Open, now, reason);
  }

  #closeNow(now: number, reason: BreakerTransitionReason): void {
    this.#trips = 0;
    this.#openedAt = undefined;
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    this.#trippedUntil = Number.NEGATIVE_INFINITY;
    this.#strategy.reset(now);
    this.#setState(CircuitState.Closed, now, reason);
  }

  /** The trip policy tripped on a closed breaker's call. */
  #onTrip(now: number): void {
    if (this.#shared === undefined) {
      this.#openNow(now, 'tripped');
      return;
    }
    // Shared mode: the replica votes instead of opening. The vote stands for one base open
    // period, so replicas tripping a few seconds apart still make a quorum; a fresh window
    // starts, and a new trip extends the vote.
    this.#trippedUntil = now + this.#options.openDurationMs;
    if (this.#followsFleet()) {
      this.#strategy.reset(now);
      this.#sync();
    } else {
      this.#openNow(now, 'tripped');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Management
  // -------------------------------------------------------------------------------------------

  isolate(): Disposable {
    const now = this.#clock.now();
    if (this.#isolations++ === 0) {
      this.#probesInFlight = 0;
      this.#probeSuccesses = 0;
      this.#setState(CircuitState.Isolated, now, 'isolated');
    }
    let released = false;
    const dispose = (): void => {
      if (released) return;
      released = true;
      if (--this.#isolations === 0) this.#release();
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  #release(): void {
    const now = this.#clock.now();
    this.#strategy.reset(now);
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    if (this.#followsFleet() && this.#fleet !== undefined) {
      this.#followFleet(now, 'released');
      return;
    }
    this.#trips = 0;
    this.#openedAt = undefined;
    this.#setState(CircuitState.Closed, now, 'released');
  }

  reset(): void {
    const now = this.#clock.now();
    if (this.#isolations > 0) {
      this.#trips = 0;
      this.#openedAt = undefined;
      this.#strategy.reset(now);
      this.#trippedUntil = Number.NEGATIVE_INFINITY;
    } else {
      this.#closeNow(now, 'reset');
    }
    // Tried even while degraded: a reset is worth a store call, and its success ends the spell.
    if (this.#shared !== undefined && !this.#closed) void this.#resetFleet();
  }

  toJSON(): BreakerStateJSON {
    this.#advance(this.#clock.now());
    const state = this.#state;
    if (state !== CircuitState.Open && state !== CircuitState.HalfOpen)
      return { version: 1, state: 'closed', trips: 0 };
    return this.#openedAt === undefined
      ? { version: 1, state, probeAt: this.#probeAt, trips: this.#trips }
      : { version: 1, state, openedAt: this.#openedAt, probeAt: this.#probeAt, trips: this.#trips };
  }

  snapshot(): BreakerSnapshot {
    const now = this.#clock.now();
    this.#advance(now);
    const stats = this.#strategy.stats(now);
    const state = this.#state;
    const opened = state === CircuitState.Open || state === CircuitState.HalfOpen;
    const shared = this.#shared;
    const fleet = this.#fleet;
    return {
      name: this.name,
      state,
      calls: stats.calls,
      failures: stats.failures,
      slowCalls: stats.slowCalls,
      consecutiveFailures: stats.consecutiveFailures,
      failureRate: stats.calls === 0 ? 0 : stats.failures / stats.calls,
      slowCallRate: stats.calls === 0 ? 0 : stats.slowCalls / stats.calls,
      trips: this.#trips,
      ...(opened && this.#openedAt !== undefined ? { openedAt: this.#openedAt } : {}),
      ...(opened ? { probeAt: this.#probeAt } : {}),
      probes: this.#followsFleet()
        ? { inFlight: this.#sharedProbes, successes: fleet?.probes.successes ?? 0 }
        : { inFlight: this.#probesInFlight, successes: this.#probeSuccesses },
      isolations: this.#isolations,
      totals: {
        successes: this.#successes,
        failures: this.#failures,
        ignored: this.#ignored,
        rejected: this.#rejected,
      },
      ...(shared === undefined
        ? {}
        : {
            shared: {
              replicaId: shared.replicaId,
              degraded: this.#degraded,
              storeErrors: this.#storeErrors,
              tripped: now < this.#trippedUntil,
              ...(fleet === undefined
                ? {}
                : {
                    fleet: {
                      state: fleet.state,
                      generation: fleet.generation,
                      tripped: fleet.tripped,
                      replicas: fleet.replicas,
                      readAt: this.#fleetReadAt,
                    },
                  }),
            },
          }),
    };
  }

  onStateChange(listener: Listener<BreakerStateChangeEvent>): Disposable {
    return this.#stateChanged.on(listener);
  }

  onSuccess(listener: Listener<BreakerOutcomeEvent>): Disposable {
    return this.#succeeded.on(listener);
  }

  onFailure(listener: Listener<BreakerOutcomeEvent>): Disposable {
    return this.#failed.on(listener);
  }

  onIgnored(listener: Listener<BreakerOutcomeEvent>): Disposable {
    return this.#ignoredCalls.on(listener);
  }

  onRejected(listener: Listener<BreakerRejectedEvent>): Disposable {
    return this.#refused.on(listener);
  }

  onStoreError(listener: Listener<BreakerStoreErrorEvent>): Disposable {
    return this.#storeFailed.on(listener);
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    try {
      this.#watch?.dispose();
    } catch {
      // The store's own bug; the watch is gone either way.
    }
    this.#watch = undefined;
    this.#closing = (this.#syncing ?? Promise.resolve()).then(() => undefined);
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // -------------------------------------------------------------------------------------------
  // Shared mode
  // -------------------------------------------------------------------------------------------

  /** True when decisions come from the fleet's state: shared, store healthy, not closed. */
  #followsFleet(): boolean {
    return this.#shared !== undefined && !this.#degraded && !this.#closed;
  }

  #startSync(shared: ResolvedSharedBreakerOptions): void {
    this.#schedule(shared.syncIntervalMs);
    this.#sync();
    const watch = shared.store.watch;
    if (watch === undefined) return;
    try {
      this.#watch = watch.call(shared.store, this.name, (state) => {
        // Watch news is applied only if no newer state was seen (compare generations).
        if (this.#followsFleet()) this.#applyFleet(state, -1, false);
      });
    } catch (error) {
      this.#storeError('watch', error);
    }
  }

  #schedule(intervalMs: number): void {
    this.#cancelTimer = this.#clock.setTimeout(() => {
      if (this.#closed) return;
      this.#schedule(intervalMs);
      this.#sync();
    }, intervalMs);
  }

  /** Reports now, or right after the report in flight. */
  #sync(): void {
    if (this.#closed) return;
    if (this.#syncing !== undefined) {
      this.#syncAgain = true;
      return;
    }
    this.#syncing = this.#report().then(() => {
      this.#syncing = undefined;
      if (this.#syncAgain) {
        this.#syncAgain = false;
        this.#sync();
      }
    });
  }

  async #report(): Promise<void> {
    const shared = this.#shared as ResolvedSharedBreakerOptions;
    const seq = this.#fleetSeq;
    const wasDegraded = this.#degraded;
    const state = await this.#storeCall('report', (store) =>
      store.report(this.name, {
        replicaId: shared.replicaId,
        tripped: this.#clock.now() < this.#trippedUntil,
        ttlMs: shared.reportTtlMs,
        quorum: shared.quorum,
        open: this.#openPeriod,
      }),
    );
    // After a degraded spell the store's answer wins over what the replica decided alone.
    if (state !== undefined) this.#applyFleet(state, seq, wasDegraded);
  }

  async #sharedProbe<T>(
    operation: Operation<T>,
    signal: AbortSignal | PolicyContext | undefined,
    now: number,
  ): Promise<T> {
    const shared = this.#shared as ResolvedSharedBreakerOptions;
    const generation = this.#fleet?.generation ?? 0;
    if (this.#heldGeneration === generation && now < this.#heldUntil) {
      this.#heldGeneration = -1;
      this.#sharedProbes++;
      return this.#run(operation, signal, RUN_SHARED_PROBE, generation);
    }
    // No point asking the store for more slots than the whole fleet has, nor asking again
    // before anything changed.
    if (
      this.#sharedProbes >= this.#maxProbes ||
      (this.#deniedGeneration === generation && this.#deniedSeq === this.#fleetSeq)
    ) {
      throw this.#openError(CircuitState.HalfOpen, 0);
    }
    this.#sharedProbes++;
    const seq = this.#fleetSeq;
    const answer = await this.#storeCall('acquireProbe', (store) =>
      store.acquireProbe(this.name, {
        replicaId: shared.replicaId,
        generation,
        maxProbes: this.#maxProbes,
        leaseMs: shared.probeLeaseMs,
      }),
    );
    if (answer === undefined) {
      // The store failed: this replica now decides alone, from where the fleet was.
      this.#sharedProbes--;
      return this.execute(operation, signal);
    }
    if (answer.granted) return this.#run(operation, signal, RUN_SHARED_PROBE, generation);
    this.#sharedProbes--;
    this.#applyFleet(answer.state, seq, false);
    this.#deniedGeneration = answer.state.generation;
    this.#deniedSeq = this.#fleetSeq;
    // Another replica's probe may have closed the breaker meanwhile: then this call just runs.
    if (this.#state === CircuitState.Closed) return this.#run(operation, signal, RUN_CALL, 0);
    const later = this.#clock.now();
    if (this.#state === CircuitState.Open && later < this.#probeAt) {
      throw this.#openError(CircuitState.Open, this.#probeAt - later);
    }
    if (this.#state === CircuitState.Isolated) throw this.#isolatedError();
    throw this.#openError(CircuitState.HalfOpen, 0);
  }

  async #completeProbe(fleetGeneration: number, success: boolean): Promise<void> {
    const shared = this.#shared as ResolvedSharedBreakerOptions;
    const seq = this.#fleetSeq;
    const wasDegraded = this.#degraded;
    const state = await this.#storeCall('completeProbe', (store) =>
      store.completeProbe(this.name, {
        replicaId: shared.replicaId,
        generation: fleetGeneration,
        success,
        successesToClose: this.#successesToClose,
        open: this.#openPeriod,
      }),
    );
    if (state !== undefined) {
      this.#applyFleet(state, seq, wasDegraded);
      return;
    }
    // The store failed with the outcome in hand: the local breaker, which took over from the
    // fleet's half-open state, judges it instead.
    const now = this.#clock.now();
    this.#advance(now);
    this.#probeOutcome(success, now);
  }

  async #resetFleet(): Promise<void> {
    const state = await this.#storeCall('reset', (store) => store.reset(this.name));
    if (state !== undefined) this.#applyFleet(state, this.#fleetSeq, true);
  }

  /**
   * One store call, time-limited to `syncInterval`. Resolves `undefined` when it fails (and
   * degrades the breaker); never rejects. A success after a degraded spell ends the spell.
   */
  async #storeCall<T>(
    operation: BreakerStoreOperation,
    call: (store: BreakerStateStore) => Promise<T>,
  ): Promise<T | undefined> {
    const shared = this.#shared as ResolvedSharedBreakerOptions;
    try {
      const value = await callWithTimeout(() => call(shared.store), shared.syncIntervalMs, this.#clock, operation);
      this.#degraded = false;
      return value;
    } catch (error) {
      this.#storeError(operation, error);
      return undefined;
    }
  }

  #storeError(operation: BreakerStoreOperation, error: unknown): void {
    this.#storeErrors++;
    const degraded = !this.#degraded;
    if (degraded) {
      // The local state machine takes over from the last state the fleet had: an open breaker
      // stays open until its probe time, a half-open one probes locally.
      this.#degraded = true;
      this.#probesInFlight = 0;
      this.#probeSuccesses = 0;
    }
    if (this.#storeFailed.size > noListeners) this.#storeFailed.emit({ name: this.name, operation, error, degraded });
  }

  /**
   * Caches a state read from the store and follows it. An answer is dropped when a newer state
   * (higher generation) was applied after its request started; `seq` -1 means "compare
   * generations only" (watch news), `force` applies it regardless (reset, end of a degraded spell).
   */
  #applyFleet(state: SharedBreakerState, seq: number, force: boolean): void {
    if (this.#closed) return;
    const previous = this.#fleet;
    if (!force && previous !== undefined && state.generation < previous.generation && seq !== this.#fleetSeq) return;
    const now = this.#clock.now();
    this.#fleet = state;
    this.#fleetReadAt = now;
    this.#fleetSeq++;
    // Forced (the end of a degraded spell, a reset): outcomes of calls started under the
    // replica's own decisions no longer count.
    if (force) this.#generation++;
    if (previous !== undefined && state.generation !== previous.generation && state.state === 'closed') {
      // The fleet closed or was reset, which clears every replica's vote: start afresh.
      this.#trippedUntil = Number.NEGATIVE_INFINITY;
      this.#strategy.reset(now);
    }
    if (this.#isolations > 0 || !this.#followsFleet()) return;
    this.#followFleet(now, 'shared');
  }

  /** Moves the local state to the cached fleet state. */
  #followFleet(now: number, reason: BreakerTransitionReason): void {
    const fleet = this.#fleet as SharedBreakerState;
    this.#trips = fleet.trips;
    if (fleet.state === 'closed') {
      this.#openedAt = undefined;
      if (this.#state !== CircuitState.Closed) this.#setState(CircuitState.Closed, now, reason);
      return;
    }
    if (fleet.state === 'open') {
      const wasOpen = this.#state === CircuitState.Open || this.#state === CircuitState.HalfOpen;
      if (!wasOpen || this.#openedAt === undefined) this.#openedAt = now;
      this.#probeAt = now + fleet.probeInMs;
      if (this.#state !== CircuitState.Open) {
        this.#setState(CircuitState.Open, now, reason);
      }
      this.#advance(now);
      return;
    }
    if (this.#state !== CircuitState.HalfOpen) {
      if (this.#state !== CircuitState.Open || this.#probeAt > now) this.#probeAt = now;
      if (this.#openedAt === undefined) this.#openedAt = now;
      this.#setState(CircuitState.HalfOpen, now, reason);
    }
  }
}
