import { type Clock, configIssues, invalidConfig, systemClock } from '@switchyard/core';
import * as z from 'zod';
import {
  type BreakerStateJSON,
  type CircuitBreakerOptions,
  type ConsecutiveTripOptions,
  type CountTripOptions,
  type ResolvedCircuitBreakerOptions,
  resolveCircuitBreakerOptions,
  type SharedBreakerOptions,
  type TimeTripOptions,
} from './breaker-options.ts';
import {
  type BreakerSnapshot,
  type BreakerStateChangeEvent,
  type CircuitBreaker,
  createResolvedCircuitBreaker,
} from './circuit-breaker.ts';
import { Event } from './events.ts';
import type { Disposable, Listener } from './types.ts';

/** Options every breaker of a registry starts from (all but its name, saved state and sharing). */
export type BreakerDefaults = Omit<CircuitBreakerOptions, 'name' | 'initialState' | 'shared'>;

/**
 * Options for one named breaker, deep-merged over the registry's defaults: give only what
 * differs. A `trip` with another `type` than the defaults' replaces the defaults' trip.
 */
export interface BreakerOverrides extends Omit<BreakerDefaults, 'trip'> {
  readonly trip?: Partial<ConsecutiveTripOptions> | Partial<CountTripOptions> | Partial<TimeTripOptions>;
  /** Merged over the registry's `shared` (a breaker-specific quorum, for example). */
  readonly shared?: Partial<SharedBreakerOptions>;
}

/** Options of {@link createBreakerRegistry}. */
export interface BreakerRegistryOptions {
  /** Options of every breaker. @default the breaker's defaults */
  readonly defaults?: BreakerDefaults;
  /** Per breaker name, what differs from `defaults`. Validated when the registry is created. */
  readonly overrides?: Readonly<Record<string, BreakerOverrides>>;
  /** Per breaker name, the state to start from, as saved by `registry.toJSON()`. */
  readonly initialStates?: Readonly<Record<string, BreakerStateJSON>>;
  /** Share every breaker's state across replicas (each breaker under its own name). */
  readonly shared?: SharedBreakerOptions;
  /** Time for every breaker. @default systemClock */
  readonly clock?: Clock;
}

/**
 * Named circuit breakers, one per dependency, created on first use from shared defaults and
 * per-name overrides: what an HTTP client or a gateway keeps, one breaker per upstream.
 */
export interface BreakerRegistry {
  /**
   * The breaker called `name`, created on first use (the same instance after).
   *
   * @throws SwitchyardError `SY_CONFIG_INVALID` for an empty name
   */
  get(name: string): CircuitBreaker;
  /** True when a breaker called `name` was created. */
  has(name: string): boolean;
  /** Snapshots of every created breaker, sorted by name. */
  list(): BreakerSnapshot[];
  /** State changes of every breaker (the event names the breaker). */
  onStateChange(listener: Listener<BreakerStateChangeEvent>): Disposable;
  /**
   * Every breaker's state by name, sorted, for `initialStates`: the created breakers' and,
   * for names not used yet, the initial states still pending.
   */
  toJSON(): Record<string, BreakerStateJSON>;
  /**
   * Closes every breaker (stopping their shared-state sync). Idempotent. Breakers keep
   * deciding locally afterwards, and breakers created later are local.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const registrySchema = z.strictObject({
  defaults: z.record(z.string(), z.unknown()).optional(),
  overrides: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  initialStates: z.record(z.string(), z.unknown()).optional(),
  shared: z.record(z.string(), z.unknown()).optional(),
  clock: z
    .custom<Clock>((v) => typeof (v as Clock | undefined)?.now === 'function', { message: 'expected a Clock' })
    .optional(),
});

/**
 * Creates a registry of named circuit breakers.
 *
 * Every override and initial state is validated at once, so a typo fails at start-up rather
 * than on the first call to that dependency.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field: `resilience.breakers.defaults.<field>`,
 *   `resilience.breakers.<name>.<field>` (overrides, initial states), `resilience.breakers.shared.<field>`
 * @example
 * ```ts
 * import { createBreakerRegistry } from '@switchyard/resilience';
 *
 * const breakers = createBreakerRegistry({
 *   defaults: { trip: { type: 'consecutive', failures: 5 }, openDuration: '5s' },
 *   overrides: { payments: { trip: { failures: 2 }, openDuration: '30s' } },
 * });
 * await breakers.get('payments').execute(() => pay());
 * breakers.onStateChange(({ name, from, to }) => console.log(`${name}: ${from} -> ${to}`));
 * ```
 */
export function createBreakerRegistry(options: BreakerRegistryOptions = {}): BreakerRegistry {
  const checked = registrySchema.safeParse(options, { reportInput: true });
  if (!checked.success) throw invalidConfig(configIssues(registrySchema, checked.error, 'resilience.breakers'));
  const clock = options.clock ?? systemClock;
  const defaults: BreakerDefaults = options.defaults ?? {};
  resolveCircuitBreakerOptions(defaults, 'resilience.breakers.defaults');
  if (options.shared !== undefined) resolveCircuitBreakerOptions({ shared: options.shared }, 'resilience.breakers');

  const pendingStates = new Map<string, BreakerStateJSON>(Object.entries(options.initialStates ?? {}));
  const overrides = options.overrides ?? {};
  const breakers = new Map<string, CircuitBreaker>();
  const resolved = new Map<string, ResolvedCircuitBreakerOptions>();
  const changed = new Event<BreakerStateChangeEvent>();
  let closing: Promise<void> | undefined;

  function optionsFor(name: string, local: boolean): CircuitBreakerOptions {
    const override = Object.hasOwn(overrides, name) ? overrides[name] : undefined;
    const merged = mergeOverride(defaults, override) as Record<string, unknown>;
    const shared = local ? undefined : mergePlain(options.shared, override?.shared);
    if (shared === undefined) delete merged.shared;
    else merged.shared = shared;
    merged.name = name;
    const initial = pendingStates.get(name);
    if (initial !== undefined) merged.initialState = initial;
    return merged as CircuitBreakerOptions;
  }

  function resolve(name: string): ResolvedCircuitBreakerOptions {
    let result = resolved.get(name);
    if (result === undefined) {
      result = resolveCircuitBreakerOptions(optionsFor(name, closing !== undefined), `resilience.breakers.${name}`);
      resolved.set(name, result);
    }
    return result;
  }

  // Fail fast: every name the configuration mentions is checked now.
  for (const name of new Set([...Object.keys(overrides), ...pendingStates.keys()])) {
    checkName(name);
    resolve(name);
  }

  const registry: BreakerRegistry = {
    get(name: string): CircuitBreaker {
      let breaker = breakers.get(name);
      if (breaker !== undefined) return breaker;
      checkName(name);
      const result = closing === undefined ? resolve(name) : resolveCircuitBreakerOptions(optionsFor(name, true));
      breaker = createResolvedCircuitBreaker(result, clock);
      breaker.onStateChange((event) => changed.emit(event));
      breakers.set(name, breaker);
      pendingStates.delete(name);
      return breaker;
    },

    has(name: string): boolean {
      return breakers.has(name);
    },

    list(): BreakerSnapshot[] {
      return [...breakers.keys()].sort().map((name) => (breakers.get(name) as CircuitBreaker).snapshot());
    },

    onStateChange(listener: Listener<BreakerStateChangeEvent>): Disposable {
      return changed.on(listener);
    },

    toJSON(): Record<string, BreakerStateJSON> {
      const out: Record<string, BreakerStateJSON> = {};
      const names = [...new Set([...breakers.keys(), ...pendingStates.keys()])].sort();
      for (const name of names) {
        const breaker = breakers.get(name);
        out[name] = breaker === undefined ? (pendingStates.get(name) as BreakerStateJSON) : breaker.toJSON();
      }
      return out;
    },

    close(): Promise<void> {
      closing ??= Promise.all([...breakers.values()].map((b) => b.close())).then(() => undefined);
      return closing;
    },

    [Symbol.asyncDispose](): Promise<void> {
      return registry.close();
    },
  };
  return registry;
}

function checkName(name: unknown): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw invalidConfig([
      { path: 'resilience.breakers', message: `expected a non-empty breaker name, got ${JSON.stringify(name)}` },
    ]);
  }
}

/** Overrides over defaults, deep; a trip of another type replaces the defaults' trip. */
function mergeOverride(defaults: BreakerDefaults, override: BreakerOverrides | undefined): Record<string, unknown> {
  const { shared: _shared, trip, ...rest } = override ?? {};
  const merged = mergePlain(defaults, rest) as Record<string, unknown>;
  if (trip !== undefined) {
    // The breaker's default trip is a time window, so a partial trip refines that one.
    const base: Record<string, unknown> = { ...(defaults.trip ?? { type: 'time' }) };
    merged.trip = trip.type === undefined || trip.type === base.type ? mergePlain(base, trip) : { ...trip };
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Fields that hold the caller's objects: replaced whole, never merged into. */
const atomic = new Set(['store', 'classify']);

/**
 * Deep merge of plain objects; anything else (arrays, functions, class instances) and the
 * {@link atomic} fields in `over` replace what `base` had, by reference.
 */
function mergePlain<T>(base: T | undefined, over: unknown): T | undefined {
  if (over === undefined) return base === undefined ? undefined : isPlainObject(base) ? ({ ...base } as T) : base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] =
      !atomic.has(key) && isPlainObject(out[key]) && isPlainObject(value) ? mergePlain(out[key], value) : value;
  }
  return out as T;
}
