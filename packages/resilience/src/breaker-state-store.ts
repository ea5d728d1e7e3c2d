import type { Disposable } from './types.ts';

/**
 * A breaker's state as the fleet shares it, returned by every {@link BreakerStateStore}
 * call. Times are relative (`probeInMs`), never absolute, so replicas whose clocks disagree
 * still agree on when to probe: each replica adds them to its own clock.
 */
export interface SharedBreakerState {
  /**
   * `closed`: calls flow. `open`: calls are refused until `probeInMs` passes. `half-open`: the
   * open period is over and up to `maxProbes` probe calls may run, fleet-wide.
   */
  readonly state: 'closed' | 'open' | 'half-open';
  /**
   * Increments on every shared transition (closed -> open, half-open -> open, half-open ->
   * closed, reset). Probe calls name the generation they were granted in; an outcome for an
   * older generation is ignored.
   */
  readonly generation: number;
  /** Milliseconds until probes are allowed; 0 unless `state` is `open`. */
  readonly probeInMs: number;
  /** Consecutive trips without closing in between (1 after the first trip); 0 when closed. */
  readonly trips: number;
  /** Live replicas currently reporting their local policy tripped. */
  readonly tripped: number;
  /** Replicas that reported within their time to live. */
  readonly replicas: number;
  /** Probe slots held and probe successes counted in the current half-open generation. */
  readonly probes: { readonly inFlight: number; readonly successes: number };
}

/** How many tripped replicas open the shared breaker: `max(min, ceil(ratio × live replicas))`, capped at the live replica count, at least 1. */
export interface Quorum {
  /** @default 2 */
  readonly min: number;
  /** @default 0.5 */
  readonly ratio: number;
}

/** The open period: `baseMs × factor^(trips - 1)`, capped at `maxMs`. */
export interface OpenPeriod {
  readonly baseMs: number;
  readonly factor: number;
  readonly maxMs: number;
}

/** A replica's periodic report of itself and of its local verdict. */
export interface BreakerReport {
  readonly replicaId: string;
  /** True while this replica's local trip policy says the breaker should be open. */
  readonly tripped: boolean;
  /** The replica counts as live (and its `tripped` stands) for this long after the report. */
  readonly ttlMs: number;
  readonly quorum: Quorum;
  readonly open: OpenPeriod;
}

/** A request for one of the fleet's half-open probe slots. */
export interface ProbeRequest {
  readonly replicaId: string;
  /** The generation the replica saw as half-open. */
  readonly generation: number;
  /** Slots the whole fleet may hold at once (K). */
  readonly maxProbes: number;
  /** A slot not completed within this long is freed (the replica holding it died). */
  readonly leaseMs: number;
}

/** The outcome of a probe call that was granted a slot. */
export interface ProbeOutcome {
  readonly replicaId: string;
  readonly generation: number;
  readonly success: boolean;
  /** Probe successes, fleet-wide, that close the breaker (S). */
  readonly successesToClose: number;
  readonly open: OpenPeriod;
}

/**
 * Where breakers that share state across replicas keep it: the port behind
 * `createCircuitBreaker({ shared: { store } })`. Every method is atomic with respect to every
 * replica (the Redis adapter runs each as one Lua script) and uses the store's own time.
 *
 * Semantics every implementation follows (the contract suite in
 * `@switchyard/resilience/testing` checks them):
 * - A breaker never seen before reads as `closed`, generation 0, with no replicas.
 * - `report` records the replica as live for `ttlMs` (0 or less removes it), and as tripped or
 *   not. When the state is `closed` and the live tripped replicas (at least one) reach the
 *   quorum computed from the reporting replica's `quorum` and the live count, the state opens:
 *   generation + 1, trips + 1, open for the open period of the new trip count. Any report
 *   checks this, so a fleet that shrinks can open on a report that is not tripped itself.
 *   Reports never close a breaker; tripped reports made while open count in `tripped` only.
 * - An `open` breaker whose period has passed reads as `half-open`. This is not a transition
 *   (same generation, nothing published): each replica knows it from `probeInMs`.
 * - `acquireProbe` grants a slot only in `half-open`, only for the current generation, and
 *   only while fewer than `maxProbes` unexpired slots are held. One replica may hold several.
 *   A refusal still returns the current state (so a replica learns the new generation).
 * - `completeProbe` for the current generation and a held slot frees the slot (the replica's
 *   oldest, when it holds several); a success
 *   counts towards `successesToClose`, and reaching it closes the breaker (generation + 1,
 *   trips 0, every tripped report cleared). A failure reopens it at once (generation + 1,
 *   trips + 1, the next, longer open period). Outcomes for another generation change nothing,
 *   and so do outcomes from a replica holding no slot (its lease ran out and the fleet gave
 *   the probe up, or it never had one).
 * - `reset` closes the breaker and clears everything but the live replicas. It is always a
 *   transition (generation + 1, even when already closed), so probes granted before it no
 *   longer count.
 * - Open periods are whole milliseconds (rounded down).
 */
export interface BreakerStateStore {
  report(name: string, report: BreakerReport): Promise<SharedBreakerState>;
  read(name: string): Promise<SharedBreakerState>;
  acquireProbe(name: string, request: ProbeRequest): Promise<{ granted: boolean; state: SharedBreakerState }>;
  completeProbe(name: string, outcome: ProbeOutcome): Promise<SharedBreakerState>;
  reset(name: string): Promise<SharedBreakerState>;
  /**
   * Calls `listener` soon after a replica changes the shared state of `name` (a transition:
   * the generation moved), asynchronously, never inside the call that caused it. Every
   * listener hears every transition, including those made through the same store object, so
   * a breaker compares generations to drop news it already has. Best effort (Redis pub/sub).
   * Optional: without it, breakers learn of changes through their periodic report.
   */
  watch?(name: string, listener: (state: SharedBreakerState) => void): Disposable;
  /** Releases connections. Idempotent. */
  close?(): Promise<void>;
}
