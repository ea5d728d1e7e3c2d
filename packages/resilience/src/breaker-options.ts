import { configIssues, invalidConfig, zDuration } from '@switchyard/core';
import * as z from 'zod';
import type { BreakerStateStore, Quorum } from './breaker-state-store.ts';
import type { OutcomeClassifier } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Saved state
// ---------------------------------------------------------------------------------------------

/**
 * A breaker's state in a JSON-safe, versioned form: what `breaker.toJSON()` returns and what
 * the `initialState` option restores (to keep a breaker's verdict across restarts of a
 * serverless function, for example). Times are absolute milliseconds on the breaker's clock
 * (`Date.now()` for the system clock).
 *
 * Window counts are not saved: a restored breaker starts with an empty window, so a changed
 * trip policy never meets counts it did not make.
 */
export interface BreakerStateJSON {
  /** Format version; `1` is the only one. */
  readonly version: 1;
  /** `half-open` restores as open with its probe time passed: the next call probes. */
  readonly state: 'closed' | 'open' | 'half-open';
  /** When the breaker opened; informative. */
  readonly openedAt?: number;
  /** When an `open` breaker lets probes through. Required unless `state` is `closed`. */
  readonly probeAt?: number;
  /** Consecutive trips without closing in between; grows the open period. 0 when closed. */
  readonly trips: number;
}

const timestamp = z.number().nonnegative().refine(Number.isFinite, { message: 'expected a finite number' });

/** Schema for {@link BreakerStateJSON}. */
export const breakerStateSchema = z
  .strictObject({
    version: z.literal(1),
    state: z.enum(['closed', 'open', 'half-open']),
    openedAt: timestamp.optional(),
    probeAt: timestamp.optional(),
    trips: z.number().int().min(0),
  })
  .superRefine((value, ctx) => {
    if (value.state === 'closed') return;
    if (value.probeAt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['probeAt'], message: `required when state is "${value.state}"` });
    }
    if (value.trips < 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['trips'],
        message: `expected at least 1 when state is "${value.state}", got ${value.trips}`,
      });
    }
  });

/**
 * Validates a saved breaker state.
 *
 * @param root - path prefix for messages
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`resilience.breaker.initialState.state: ...`)
 * @example
 * ```ts
 * const saved = resolveBreakerState(JSON.parse(text));
 * const breaker = createCircuitBreaker({ initialState: saved });
 * ```
 */
export function resolveBreakerState(input: unknown, root = 'resilience.breaker.initialState'): BreakerStateJSON {
  return Object.freeze(compactState(parse(breakerStateSchema, input, root)));
}

function compactState(value: z.output<typeof breakerStateSchema>): BreakerStateJSON {
  const out: { -readonly [K in keyof BreakerStateJSON]: BreakerStateJSON[K] } = {
    version: 1,
    state: value.state,
    trips: value.trips,
  };
  if (value.openedAt !== undefined) out.openedAt = value.openedAt;
  if (value.probeAt !== undefined) out.probeAt = value.probeAt;
  return out;
}

// ---------------------------------------------------------------------------------------------
// User input
// ---------------------------------------------------------------------------------------------

/** A duration: `"250ms"`, `"5s"`, `"1m30s"` or milliseconds. */
export type DurationInput = string | number;

/** Trip after `failures` failures in a row; a success starts the count again. */
export interface ConsecutiveTripOptions {
  readonly type: 'consecutive';
  /** Failures in a row that open the breaker. @default 5 */
  readonly failures?: number;
}

/** Fields shared by the two sliding-window trip policies. */
export interface WindowTripFields {
  /**
   * Calls (successes + failures, ignored calls not counted) the window must hold before it
   * may trip. @default 20 (for `count`: the smaller of 20 and `size`)
   */
  readonly minimumCalls?: number;
  /** Failure rate, 0..1, at or above which the breaker trips. @default 0.5 */
  readonly failureRate?: number;
  /**
   * Slow-call rate, 0..1, at or above which the breaker trips. A call is slow when it takes
   * longer than `slowCallDuration`; a slow success is still a success for the failure rate.
   * Set both or neither.
   */
  readonly slowCallRate?: number;
  /** How long a call may take before it counts as slow. Set with `slowCallRate`. */
  readonly slowCallDuration?: DurationInput;
}

/** Trip on the failure (or slow-call) rate of the last `size` calls. */
export interface CountTripOptions extends WindowTripFields {
  readonly type: 'count';
  /** Calls the window holds. @default 100 */
  readonly size?: number;
}

/**
 * Trip on the failure (or slow-call) rate of the calls of the last `window`, kept in
 * `buckets` buckets: the window slides by `window / buckets` at a time.
 */
export interface TimeTripOptions extends WindowTripFields {
  readonly type: 'time';
  /** How far back the window reaches. @default "10s" */
  readonly window?: DurationInput;
  /** Buckets the window is kept in; more buckets slide more smoothly. @default 10 */
  readonly buckets?: number;
}

/** The trip policy: when a closed breaker opens. */
export type TripOptions = ConsecutiveTripOptions | CountTripOptions | TimeTripOptions;

/** Growth of the open period on repeated trips without closing in between. */
export interface OpenBackoffOptions {
  /** Each trip multiplies the open period by this. @default 2 */
  readonly factor?: number;
  /** The longest open period. @default "5m" */
  readonly max?: DurationInput;
}

/** How a half-open breaker tests the waters. */
export interface HalfOpenOptions {
  /** Probe calls (K) allowed at once; more are refused. Fleet-wide in shared mode. @default 1 */
  readonly maxProbes?: number;
  /** Successful probes (S) that close the breaker; may exceed `maxProbes`. @default 1 */
  readonly successesToClose?: number;
}

/** Sharing one breaker state across replicas through a {@link BreakerStateStore}. */
export interface SharedBreakerOptions {
  /** Where the fleet keeps the shared state (memory, Redis, ...). */
  readonly store: BreakerStateStore;
  /** This replica's id, unique in the fleet (`orders-7f9c`). */
  readonly replicaId: string;
  /** How many tripped replicas open the breaker. @default { min: 2, ratio: 0.5 } */
  readonly quorum?: Partial<Quorum>;
  /** How often the replica reports and refreshes the shared state; also the timeout of each store call. @default "1s" */
  readonly syncInterval?: DurationInput;
  /** How long a report keeps the replica live. Must exceed `syncInterval`. @default 3 × syncInterval */
  readonly reportTtl?: DurationInput;
  /** How long a probe slot is held before the fleet gives it up (the replica died). @default "30s" */
  readonly probeLease?: DurationInput;
}

/**
 * Options of {@link createCircuitBreaker}. Every field is optional.
 *
 * @example
 * ```ts
 * const options: CircuitBreakerOptions = {
 *   name: 'payments',
 *   trip: { type: 'count', size: 50, minimumCalls: 10, failureRate: 0.5 },
 *   openDuration: '10s',
 *   openBackoff: { factor: 2, max: '2m' },
 *   halfOpen: { maxProbes: 2, successesToClose: 3 },
 * };
 * ```
 */
export interface CircuitBreakerOptions {
  /** Names the breaker in errors, events and metrics. @default "default" */
  readonly name?: string;
  /** When a closed breaker opens. @default { type: 'time', window: '10s', buckets: 10, minimumCalls: 20, failureRate: 0.5 } */
  readonly trip?: TripOptions;
  /** How long the breaker stays open before it probes. @default "5s" */
  readonly openDuration?: DurationInput;
  /** Grow the open period on repeated trips; absent, every open period is `openDuration`. */
  readonly openBackoff?: OpenBackoffOptions;
  /** Probing while half-open. @default { maxProbes: 1, successesToClose: 1 } */
  readonly halfOpen?: HalfOpenOptions;
  /**
   * What counts as a failure. @default errors are failures, except `SY_CANCELLED` (the caller
   * gave up), which is ignored; results are successes
   */
  readonly classify?: OutcomeClassifier;
  /** State to start from, as saved by `breaker.toJSON()`. Validated. */
  readonly initialState?: BreakerStateJSON;
  /** Share the state across replicas. Absent, the breaker is local to this process. */
  readonly shared?: SharedBreakerOptions;
}

// ---------------------------------------------------------------------------------------------
// Resolved options
// ---------------------------------------------------------------------------------------------

/** {@link ConsecutiveTripOptions} after validation. */
export interface ResolvedConsecutiveTrip {
  readonly type: 'consecutive';
  readonly failures: number;
}

/** Fields shared by resolved window policies; durations in milliseconds. */
export interface ResolvedWindowTrip {
  readonly minimumCalls: number;
  readonly failureRate: number;
  /** Absent when slow calls are not tracked. */
  readonly slowCallRate?: number;
  readonly slowCallDurationMs?: number;
}

/** {@link CountTripOptions} after validation. */
export interface ResolvedCountTrip extends ResolvedWindowTrip {
  readonly type: 'count';
  readonly size: number;
}

/** {@link TimeTripOptions} after validation. */
export interface ResolvedTimeTrip extends ResolvedWindowTrip {
  readonly type: 'time';
  readonly windowMs: number;
  readonly buckets: number;
}

/** {@link TripOptions} after validation. */
export type ResolvedTripOptions = ResolvedConsecutiveTrip | ResolvedCountTrip | ResolvedTimeTrip;

/** {@link SharedBreakerOptions} after validation; durations in milliseconds. */
export interface ResolvedSharedBreakerOptions {
  readonly store: BreakerStateStore;
  readonly replicaId: string;
  readonly quorum: Quorum;
  readonly syncIntervalMs: number;
  readonly reportTtlMs: number;
  readonly probeLeaseMs: number;
}

/** {@link CircuitBreakerOptions} after validation: complete, frozen, durations in milliseconds. */
export interface ResolvedCircuitBreakerOptions {
  readonly name: string;
  readonly trip: ResolvedTripOptions;
  readonly openDurationMs: number;
  /** Absent: the open period is constant. */
  readonly openBackoff?: { readonly factor: number; readonly maxMs: number };
  readonly halfOpen: { readonly maxProbes: number; readonly successesToClose: number };
  readonly classify?: OutcomeClassifier;
  readonly initialState?: BreakerStateJSON;
  readonly shared?: ResolvedSharedBreakerOptions;
}

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

/** A threshold rate: above 0 (a rate of 0 would trip on the first call), at most 1. */
const rate = z.number().gt(0).max(1);
const count = z.number().int().min(1);

const windowFields = {
  minimumCalls: count.optional(),
  failureRate: rate.default(0.5),
  slowCallRate: rate.optional(),
  slowCallDuration: zDuration().optional(),
};

const tripSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('consecutive'), failures: count.default(5) }),
  z.strictObject({ type: z.literal('count'), size: count.default(100), ...windowFields }),
  z.strictObject({
    type: z.literal('time'),
    window: zDuration().default(10_000),
    buckets: count.default(10),
    ...windowFields,
  }),
]);

function isStore(value: unknown): value is BreakerStateStore {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Record<string, unknown>;
  return ['report', 'read', 'acquireProbe', 'completeProbe', 'reset'].every((m) => typeof store[m] === 'function');
}

function isClassifier(value: unknown): value is OutcomeClassifier {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    (c.error === undefined || typeof c.error === 'function') &&
    (c.result === undefined || typeof c.result === 'function')
  );
}

const sharedSchema = z.strictObject({
  store: z.custom<BreakerStateStore>(isStore, {
    message: 'expected a BreakerStateStore (an object with report, read, acquireProbe, completeProbe and reset)',
  }),
  replicaId: z.string().min(1),
  quorum: z
    .strictObject({ min: count.default(2), ratio: z.number().min(0).max(1).default(0.5) })
    .default({ min: 2, ratio: 0.5 }),
  syncInterval: zDuration()
    .refine((ms) => ms > 0, { message: 'expected a duration above 0' })
    .default(1000),
  reportTtl: zDuration().optional(),
  probeLease: zDuration()
    .refine((ms) => ms > 0, { message: 'expected a duration above 0' })
    .default(30_000),
});

/**
 * Schema for {@link CircuitBreakerOptions}: strict (an unknown field is an error with a "did you
 * mean"), defaults included, cross-field rules reported on the field at fault. `store` and
 * `classify` are checked for shape only and passed through by reference.
 */
export const circuitBreakerOptionsSchema = z
  .strictObject({
    name: z.string().min(1).default('default'),
    trip: tripSchema.optional(),
    openDuration: zDuration().default(5000),
    openBackoff: z
      .strictObject({
        factor: z.number().min(1).default(2),
        max: zDuration().default(300_000),
      })
      .optional(),
    halfOpen: z
      .strictObject({ maxProbes: count.default(1), successesToClose: count.default(1) })
      .default({ maxProbes: 1, successesToClose: 1 }),
    classify: z
      .custom<OutcomeClassifier>(isClassifier, {
        message: 'expected an OutcomeClassifier ({ error?: (err) => verdict, result?: (value) => verdict })',
      })
      .optional(),
    initialState: breakerStateSchema.optional(),
    shared: sharedSchema.optional(),
  })
  .superRefine((value, ctx) => {
    const trip = value.trip;
    if (trip !== undefined && trip.type !== 'consecutive') {
      if (trip.slowCallRate !== undefined && trip.slowCallDuration === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['trip', 'slowCallDuration'],
          message: 'required when slowCallRate is set',
        });
      }
      if (trip.slowCallDuration !== undefined && trip.slowCallRate === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['trip', 'slowCallRate'],
          message: 'required when slowCallDuration is set',
        });
      }
      if (trip.type === 'count' && trip.minimumCalls !== undefined && trip.minimumCalls > trip.size) {
        ctx.addIssue({
          code: 'custom',
          path: ['trip', 'minimumCalls'],
          message: `expected at most size (${trip.size}), got ${trip.minimumCalls}: the window could never trip`,
        });
      }
      if (trip.type === 'time' && trip.window < trip.buckets) {
        ctx.addIssue({
          code: 'custom',
          path: ['trip', 'buckets'],
          message: `expected at most one bucket per millisecond of window (${trip.window}ms), got ${trip.buckets}`,
        });
      }
    }
    if (value.openBackoff !== undefined && value.openBackoff.max < value.openDuration) {
      ctx.addIssue({
        code: 'custom',
        path: ['openBackoff', 'max'],
        message: `expected at least openDuration (${value.openDuration}ms), got ${value.openBackoff.max}ms`,
      });
    }
    const shared = value.shared;
    if (shared?.reportTtl !== undefined && shared.reportTtl <= shared.syncInterval) {
      ctx.addIssue({
        code: 'custom',
        path: ['shared', 'reportTtl'],
        message: `expected more than syncInterval (${shared.syncInterval}ms), got ${shared.reportTtl}ms: the replica would expire between reports`,
      });
    }
  });

/**
 * Validates circuit breaker options and fills in the defaults.
 *
 * @param root - path prefix for messages
 * @returns complete options, frozen (`store` and `classify` are kept by reference, unfrozen)
 * @throws SwitchyardError `SY_CONFIG_INVALID`; `details.issues` names each field
 *   (`resilience.breaker.trip.slowCallDuration: required when slowCallRate is set`)
 * @example
 * ```ts
 * resolveCircuitBreakerOptions({ trip: { type: 'consecutive', failures: 3 }, openDuration: '10s' });
 * // { name: 'default', trip: { type: 'consecutive', failures: 3 }, openDurationMs: 10000, halfOpen: { maxProbes: 1, successesToClose: 1 } }
 * ```
 */
export function resolveCircuitBreakerOptions(
  input: CircuitBreakerOptions = {},
  root = 'resilience.breaker',
): ResolvedCircuitBreakerOptions {
  const value = parse(circuitBreakerOptionsSchema, input, root);
  const out: { -readonly [K in keyof ResolvedCircuitBreakerOptions]: ResolvedCircuitBreakerOptions[K] } = {
    name: value.name,
    trip: resolveTrip(value.trip),
    openDurationMs: value.openDuration,
    halfOpen: Object.freeze({ ...value.halfOpen }),
  };
  if (value.openBackoff !== undefined) {
    out.openBackoff = Object.freeze({ factor: value.openBackoff.factor, maxMs: value.openBackoff.max });
  }
  if (value.classify !== undefined) out.classify = value.classify;
  if (value.initialState !== undefined) out.initialState = Object.freeze(compactState(value.initialState));
  if (value.shared !== undefined) {
    const s = value.shared;
    out.shared = Object.freeze({
      store: s.store,
      replicaId: s.replicaId,
      quorum: Object.freeze({ ...s.quorum }),
      syncIntervalMs: s.syncInterval,
      reportTtlMs: s.reportTtl ?? 3 * s.syncInterval,
      probeLeaseMs: s.probeLease,
    });
  }
  return Object.freeze(out);
}

type ParsedTrip = z.output<typeof tripSchema>;

function resolveTrip(trip: ParsedTrip | undefined): ResolvedTripOptions {
  if (trip === undefined) {
    return Object.freeze({ type: 'time', windowMs: 10_000, buckets: 10, minimumCalls: 20, failureRate: 0.5 });
  }
  if (trip.type === 'consecutive') return Object.freeze({ type: 'consecutive', failures: trip.failures });
  const window: { -readonly [K in keyof ResolvedWindowTrip]: ResolvedWindowTrip[K] } = {
    minimumCalls: trip.minimumCalls ?? (trip.type === 'count' ? Math.min(20, trip.size) : 20),
    failureRate: trip.failureRate,
  };
  if (trip.slowCallRate !== undefined && trip.slowCallDuration !== undefined) {
    window.slowCallRate = trip.slowCallRate;
    window.slowCallDurationMs = trip.slowCallDuration;
  }
  if (trip.type === 'count') return Object.freeze({ type: 'count', size: trip.size, ...window });
  return Object.freeze({ type: 'time', windowMs: trip.window, buckets: trip.buckets, ...window });
}

/**
 * Like core's `resolveOptions`, without its deep freeze: the store and the classifier are the
 * caller's objects (a store keeps connections in its fields), so only our own objects are frozen.
 */
function parse<S extends z.ZodType>(schema: S, input: unknown, root: string): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(schema, result.error, root));
  return result.data;
}
