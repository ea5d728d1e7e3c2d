import { resolveOptions, zDuration } from '@switchyard/core';
import * as z from 'zod';

/**
 * How a rollout moves traffic: `canary` in weighted steps, `blue-green` all at once.
 *
 * @example
 * ```ts
 * const rollout: RolloutOptions = { route: 'orders', stable: 'v1', canary: 'v2', strategy: RolloutStrategy.BlueGreen };
 * ```
 */
export const RolloutStrategy = { Canary: 'canary', BlueGreen: 'blue-green' } as const;
/** A value of {@link RolloutStrategy}. */
export type RolloutStrategy = (typeof RolloutStrategy)[keyof typeof RolloutStrategy];

/**
 * What a step does when the canary got fewer than `minRequests` by `maxWait`: roll back,
 * advance anyway, or pause for an operator (`switchyard rollout promote|abort`).
 *
 * @example
 * ```ts
 * const analysis: RolloutAnalysisOptions = { minRequests: 20, onInsufficientTraffic: InsufficientTraffic.Pause };
 * ```
 */
export const InsufficientTraffic = { Rollback: 'rollback', Advance: 'advance', Pause: 'pause' } as const;
/** A value of {@link InsufficientTraffic}. */
export type InsufficientTraffic = (typeof InsufficientTraffic)[keyof typeof InsufficientTraffic];

const storeSchema = z
  .string()
  .refine((v) => /^(memory|sqlite:.+|redis:\/\/.+|rediss:\/\/.+|postgres(ql)?:\/\/.+)$/.test(v), {
    message: 'expected "memory", "sqlite:<file>", a redis:// URL or a postgres:// URL',
  });

const analysisSchema = z
  .strictObject({
    window: zDuration().default(30_000),
    minRequests: z.number().int().min(1).default(50),
    maxWait: zDuration().optional(),
    onInsufficientTraffic: z
      .enum([InsufficientTraffic.Rollback, InsufficientTraffic.Advance, InsufficientTraffic.Pause])
      .default(InsufficientTraffic.Pause),
    maxErrorRate: z.number().min(0).max(1).optional(),
    maxErrorRateRatio: z.number().min(1).optional(),
    maxP99Ms: z.number().positive().optional(),
    maxP99Ratio: z.number().min(1).optional(),
  })
  .superRefine((analysis, ctx) => {
    if (analysis.window <= 0) ctx.addIssue({ code: 'custom', path: ['window'], message: 'must be longer than 0' });
  });

/** Schema of one rollout; see {@link RolloutOptions}. */
export const rolloutOptionsSchema = z
  .strictObject({
    route: z.string().min(1, 'must name a route'),
    stable: z.string().min(1, 'must name a subset'),
    canary: z.string().min(1, 'must name a subset'),
    strategy: z.enum([RolloutStrategy.Canary, RolloutStrategy.BlueGreen]).default(RolloutStrategy.Canary),
    steps: z.array(z.number().int().min(1).max(100)).min(1, 'must list at least one weight').optional(),
    pause: zDuration().default(30_000),
    analysis: analysisSchema.prefault({}),
    store: storeSchema.default('memory'),
  })
  .superRefine((rollout, ctx) => {
    if (rollout.stable === rollout.canary) {
      ctx.addIssue({
        code: 'custom',
        path: ['canary'],
        message: `must differ from stable (both are ${JSON.stringify(rollout.stable)})`,
      });
    }
    if (rollout.steps !== undefined) {
      if (rollout.strategy === RolloutStrategy.BlueGreen) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps'],
          message: 'blue-green switches all traffic at once; steps apply to strategy "canary" only',
        });
      }
      for (const [index, weight] of rollout.steps.entries()) {
        const before = rollout.steps[index - 1];
        if (before !== undefined && weight <= before) {
          ctx.addIssue({
            code: 'custom',
            path: ['steps', index],
            message: `weights must increase: ${weight} follows ${before}`,
          });
        }
      }
      if (rollout.steps.at(-1) !== 100) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', rollout.steps.length - 1],
          message: `the last step must be 100 (the promotion), got ${rollout.steps.at(-1)}`,
        });
      }
    }
  });

/** Schema of `gateway.rollouts`: rollouts by name. */
export const rolloutsOptionsSchema = z.record(
  z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'a rollout name has letters, digits, ".", "_" or "-" (up to 63)'),
  rolloutOptionsSchema,
);

/**
 * Analysis thresholds of a rollout. Client traffic only: mirrored copies are never counted. An
 * error is a 5xx sent to the client (the gateway's own 5xx included). Without any threshold,
 * `maxErrorRate: 0.05` applies.
 *
 * @example
 * ```ts
 * const analysis: RolloutAnalysisOptions = { window: '30s', minRequests: 50, maxErrorRate: 0.05, maxP99Ratio: 1.5 };
 * ```
 */
export interface RolloutAnalysisOptions {
  /** Observations older than this are not judged. @default "30s" */
  window?: string | number | undefined;
  /** Canary requests needed in the window before the canary is judged. @default 50 */
  minRequests?: number | undefined;
  /** How long past `pause` a step waits for `minRequests`. @default the window */
  maxWait?: string | number | undefined;
  /** What happens when `maxWait` passes without `minRequests`. @default "pause" */
  onInsufficientTraffic?: InsufficientTraffic | undefined;
  /** Highest canary error rate (0..1), absolute. */
  maxErrorRate?: number | undefined;
  /** Highest canary error rate relative to the stable's (`2`: at most twice stable's); needs stable traffic. */
  maxErrorRateRatio?: number | undefined;
  /** Highest canary p99 latency in ms, absolute. */
  maxP99Ms?: number | undefined;
  /** Highest canary p99 relative to the stable's; needs stable traffic. */
  maxP99Ratio?: number | undefined;
}

/**
 * One rollout under `gateway.rollouts.<name>`.
 *
 * @example
 * ```ts
 * const rollout: RolloutOptions = { route: '/api/orders', stable: 'v1', canary: 'v2', steps: [5, 25, 50, 100], pause: '30s' };
 * ```
 */
export interface RolloutOptions {
  /** The route (its name, or path when unnamed) whose split the rollout moves. */
  route: string;
  /** Subset that serves before the rollout and after a rollback. */
  stable: string;
  /** Subset being rolled out. */
  canary: string;
  /** @default "canary" */
  strategy?: RolloutStrategy | undefined;
  /** Canary weights, increasing, ending at 100 (the promotion). @default [5, 25, 50, 100] */
  steps?: number[] | undefined;
  /** How long each step runs before it is judged. @default "30s" */
  pause?: string | number | undefined;
  analysis?: RolloutAnalysisOptions | undefined;
  /**
   * Where the state lives: `memory` (this process only), `sqlite:<file>`, `redis://...` or
   * `postgres://...` (with the adapter package's factory passed to the gateway). Replicas share
   * a rollout only through SQLite on one host, Redis or PostgreSQL. @default "memory"
   */
  store?: string | undefined;
}

/** One rollout after validation: complete, frozen, durations in milliseconds. */
export interface ResolvedRollout {
  readonly name: string;
  readonly route: string;
  readonly stable: string;
  readonly canary: string;
  readonly strategy: RolloutStrategy;
  /** `[100]` for blue-green. */
  readonly steps: readonly number[];
  readonly pauseMs: number;
  readonly analysis: ResolvedRolloutAnalysis;
  readonly store: string;
}

/** {@link RolloutAnalysisOptions} after validation. */
export interface ResolvedRolloutAnalysis {
  readonly windowMs: number;
  readonly minRequests: number;
  readonly maxWaitMs: number;
  readonly onInsufficientTraffic: InsufficientTraffic;
  readonly maxErrorRate?: number;
  readonly maxErrorRateRatio?: number;
  readonly maxP99Ms?: number;
  readonly maxP99Ratio?: number;
}

/** The default canary steps. */
export const DEFAULT_ROLLOUT_STEPS: readonly number[] = Object.freeze([5, 25, 50, 100]);

/**
 * Completes the output of {@link rolloutsOptionsSchema} (already parsed) into resolved rollouts.
 *
 * @example
 * ```ts
 * const rollouts = completeRollouts(rolloutsOptionsSchema.parse({ orders: { route: 'orders', stable: 'v1', canary: 'v2' } }));
 * rollouts[0]?.steps; // [5, 25, 50, 100]
 * ```
 */
export function completeRollouts(parsed: z.output<typeof rolloutsOptionsSchema>): readonly ResolvedRollout[] {
  return Object.freeze(
    Object.entries(parsed).map(([name, r]): ResolvedRollout => {
      const a = r.analysis;
      const thresholds =
        a.maxErrorRate === undefined &&
        a.maxErrorRateRatio === undefined &&
        a.maxP99Ms === undefined &&
        a.maxP99Ratio === undefined
          ? { maxErrorRate: 0.05 }
          : {
              ...(a.maxErrorRate === undefined ? {} : { maxErrorRate: a.maxErrorRate }),
              ...(a.maxErrorRateRatio === undefined ? {} : { maxErrorRateRatio: a.maxErrorRateRatio }),
              ...(a.maxP99Ms === undefined ? {} : { maxP99Ms: a.maxP99Ms }),
              ...(a.maxP99Ratio === undefined ? {} : { maxP99Ratio: a.maxP99Ratio }),
            };
      return Object.freeze({
        name,
        route: r.route,
        stable: r.stable,
        canary: r.canary,
        strategy: r.strategy,
        steps: Object.freeze(
          r.strategy === RolloutStrategy.BlueGreen ? [100] : [...(r.steps ?? DEFAULT_ROLLOUT_STEPS)],
        ),
        pauseMs: r.pause,
        analysis: Object.freeze({
          windowMs: a.window,
          minRequests: a.minRequests,
          maxWaitMs: a.maxWait ?? a.window,
          onInsufficientTraffic: a.onInsufficientTraffic,
          ...thresholds,
        }),
        store: r.store,
      });
    }),
  );
}

/**
 * Validates `gateway.rollouts` on its own, for code that builds rollouts without a gateway.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` listing every problem by path
 *   (`gateway.rollouts.orders.steps[2]: weights must increase: 20 follows 25`)
 * @example
 * ```ts
 * const [orders] = resolveRolloutsOptions({ orders: { route: '/api/orders', stable: 'v1', canary: 'v2' } });
 * ```
 */
export function resolveRolloutsOptions(
  input: Record<string, RolloutOptions>,
  root = 'gateway.rollouts',
): readonly ResolvedRollout[] {
  return completeRollouts(resolveOptions(rolloutsOptionsSchema, input, root));
}

/**
 * For the gateway options' `superRefine`: reports rollouts whose route is unknown or has no
 * `service`, and two rollouts on one route.
 *
 * @example
 * ```ts
 * checkRolloutRoutes(options.rollouts, options.routes.map((r) => ({ name: r.name ?? r.path, service: r.service })), ctx);
 * ```
 */
export function checkRolloutRoutes(
  rollouts: Readonly<Record<string, { readonly route: string }>> | undefined,
  routes: readonly {
    readonly name?: string | undefined;
    readonly path: string;
    readonly service?: string | undefined;
  }[],
  ctx: z.RefinementCtx,
): void {
  if (rollouts === undefined) return;
  const byRoute = new Map<string, string>();
  for (const [name, rollout] of Object.entries(rollouts)) {
    const route = routes.find((r) => (r.name ?? r.path) === rollout.route);
    if (route === undefined) {
      const known = routes.map((r) => JSON.stringify(r.name ?? r.path)).join(', ');
      ctx.addIssue({
        code: 'custom',
        path: ['rollouts', name, 'route'],
        message: `no route is named ${JSON.stringify(rollout.route)} (routes: ${known || 'none'})`,
      });
    } else if (route.service === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['rollouts', name, 'route'],
        message: `route ${JSON.stringify(rollout.route)} has no service; a rollout moves traffic between subsets of a service`,
      });
    }
    const other = byRoute.get(rollout.route);
    if (other !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['rollouts', name, 'route'],
        message: `rollout ${JSON.stringify(other)} already moves route ${JSON.stringify(rollout.route)}`,
      });
    } else byRoute.set(rollout.route, name);
  }
}
