import { hostname } from 'node:os';
import { type Clock, configIssues, invalidConfig, systemClock, zDuration } from '@switchyard/core';
import { type BackoffInput, backoffSchema, type ResolvedBackoff } from '@switchyard/resilience';
import * as z from 'zod';
import { isSagaDefinition, type SagaDefinition } from './definition.ts';
import type { SagaStore } from './store.ts';

const storeMethods = ['init', 'create', 'update', 'get', 'history', 'list', 'claim', 'renew', 'close'] as const;
const isStore = (value: unknown): value is SagaStore =>
  typeof value === 'object' &&
  value !== null &&
  storeMethods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
const isClock = (value: unknown): value is Clock =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Clock).now === 'function' &&
  typeof (value as Clock).setTimeout === 'function';

/** Schema for {@link SagaEngineOptions}: strict, defaults included; store, sagas and clock kept by reference. */
export const sagaEngineOptionsSchema = z
  .strictObject({
    store: z.custom<SagaStore>(isStore, { message: 'expected a SagaStore (see createMemorySagaStore)' }),
    sagas: z.array(
      z.custom<SagaDefinition>(isSagaDefinition, { message: 'expected a saga definition (see defineSaga().build())' }),
    ),
    owner: z.string().min(1).optional(),
    leaseDuration: zDuration().default(30_000),
    renewInterval: zDuration().optional(),
    pollInterval: zDuration().default(5_000),
    concurrency: z.number().int().min(1).default(100),
    compensation: z
      .strictObject({
        maxAttempts: z.number().int().min(1).default(10),
        backoff: backoffSchema({ initial: 1_000, max: 60_000, factor: 2, jitter: 'full' }),
      })
      .prefault({}),
    storeRetry: z
      .strictObject({ backoff: backoffSchema({ initial: 100, max: 5_000, factor: 2, jitter: 'full' }) })
      .prefault({}),
    clock: z.custom<Clock>(isClock, { message: 'expected a Clock (systemClock or ManualClock)' }).optional(),
  })
  .superRefine((value, ctx) => {
    if (value.leaseDuration <= 0) {
      ctx.addIssue({ code: 'custom', path: ['leaseDuration'], message: 'expected more than 0ms' });
    }
    if (value.renewInterval !== undefined && value.renewInterval >= value.leaseDuration) {
      ctx.addIssue({
        code: 'custom',
        path: ['renewInterval'],
        message: `expected less than leaseDuration (${value.leaseDuration}ms), got ${value.renewInterval}ms`,
      });
    }
    const seen = new Set<string>();
    value.sagas.forEach((saga, i) => {
      if (seen.has(saga.name)) {
        ctx.addIssue({ code: 'custom', path: ['sagas', i], message: `saga name "${saga.name}" is registered twice` });
      }
      seen.add(saga.name);
    });
  });

/** User input for `createSagaEngine`. */
export interface SagaEngineOptions {
  /** Where sagas are kept; the engine calls `init()` on `start()` and never closes it. */
  readonly store: SagaStore;
  /** The definitions this engine runs; it begins, recovers and takes over only these names. */
  readonly sagas: readonly SagaDefinition[];
  /** This engine's name in leases and history. @default `${hostname}:${pid}:${random}` */
  readonly owner?: string;
  /** How long a lease lasts without renewal; a dead engine's sagas are taken over after it. @default "30s" */
  readonly leaseDuration?: string | number;
  /** How often leases are renewed; less than `leaseDuration`. @default leaseDuration / 3 */
  readonly renewInterval?: string | number;
  /** How often the engine looks for sagas to take over (leases ended), and `wait()` re-reads the store. @default "5s" */
  readonly pollInterval?: string | number;
  /** Sagas driven at once; more wait in a queue (begun and leased, not yet driven). @default 100 */
  readonly concurrency?: number;
  /** Retrying compensations: after `maxAttempts` failures of one compensation the saga is parked. */
  readonly compensation?: {
    /** @default 10 */
    readonly maxAttempts?: number;
    /** @default { initial: "1s", max: "1m", factor: 2, jitter: "full" } */
    readonly backoff?: BackoffInput;
  };
  /** Retrying store writes that fail (the database is down): until they succeed or the engine stops. */
  readonly storeRetry?: {
    /** @default { initial: "100ms", max: "5s", factor: 2, jitter: "full" } */
    readonly backoff?: BackoffInput;
  };
  /** @default systemClock */
  readonly clock?: Clock;
}

/** {@link SagaEngineOptions} after validation: complete, frozen, times in milliseconds. */
export interface ResolvedSagaEngineOptions {
  readonly store: SagaStore;
  readonly sagas: ReadonlyMap<string, SagaDefinition>;
  readonly owner: string;
  readonly leaseDurationMs: number;
  readonly renewIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly concurrency: number;
  readonly compensation: { readonly maxAttempts: number; readonly backoff: ResolvedBackoff };
  readonly storeRetry: { readonly backoff: ResolvedBackoff };
  readonly clock: Clock;
}

type ParsedBackoff = { initial: number; max: number; factor: number; jitter: ResolvedBackoff['jitter'] };
const toBackoff = (b: ParsedBackoff): ResolvedBackoff =>
  Object.freeze({ initialMs: b.initial, maxMs: b.max, factor: b.factor, jitter: b.jitter });

/**
 * Validates saga engine options and fills in the defaults.
 *
 * @param root - path prefix for messages
 * @throws SwitchyardError `SY_CONFIG_INVALID`; `details.issues` names each field
 *   (`saga.engine.renewInterval: expected less than leaseDuration (30000ms), got 40000ms`)
 * @example
 * ```ts
 * const resolved = resolveSagaEngineOptions({ store: createMemorySagaStore(), sagas: [order], leaseDuration: '10s' });
 * resolved.renewIntervalMs; // 3333
 * ```
 */
export function resolveSagaEngineOptions(input: SagaEngineOptions, root = 'saga.engine'): ResolvedSagaEngineOptions {
  const result = sagaEngineOptionsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(sagaEngineOptionsSchema, result.error, root));
  const value = result.data;
  return Object.freeze({
    store: value.store,
    sagas: new Map(value.sagas.map((s) => [s.name, s])),
    owner: value.owner ?? `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`,
    leaseDurationMs: value.leaseDuration,
    renewIntervalMs: value.renewInterval ?? Math.max(1, Math.floor(value.leaseDuration / 3)),
    pollIntervalMs: value.pollInterval,
    concurrency: value.concurrency,
    compensation: Object.freeze({
      maxAttempts: value.compensation.maxAttempts,
      backoff: toBackoff(value.compensation.backoff),
    }),
    storeRetry: Object.freeze({ backoff: toBackoff(value.storeRetry.backoff) }),
    clock: value.clock ?? systemClock,
  });
}
