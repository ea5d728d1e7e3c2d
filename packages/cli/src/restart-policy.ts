import { exponentialBackoff, zDuration } from '@switchyard/core';
import * as z from 'zod';

/** When `switchyard up` restarts an instance that exited on its own. */
export const RestartPolicy = {
  /** Restart after a non-zero exit code or a signal; a clean exit (code 0) stays stopped. */
  OnFailure: 'on-failure',
  /** Restart after any exit, a clean one included; also during start-up. */
  Always: 'always',
  /** Never restart. */
  Never: 'never',
} as const;
export type RestartPolicy = (typeof RestartPolicy)[keyof typeof RestartPolicy];

/**
 * Schema of `services.<name>.restart` in `switchyard.yaml`.
 *
 * @example
 * ```ts
 * restartOptionsSchema.parse({ policy: 'always', backoff: { initial: '1s' } }).backoff.initial; // 1000
 * ```
 */
export const restartOptionsSchema = z.strictObject({
  /** `on-failure`, `always` or `never`. @default "on-failure" */
  policy: z.enum([RestartPolicy.OnFailure, RestartPolicy.Always, RestartPolicy.Never]).default(RestartPolicy.OnFailure),
  /** Exponential backoff between restarts, doubling from `initial` up to `max`. */
  backoff: z
    .strictObject({
      /** Delay before the first restart. @default 500ms */
      initial: zDuration().default(500),
      /** Longest delay. @default 30s */
      max: zDuration().default(30_000),
      /** An instance that stayed up this long starts again from `initial` when it exits. @default 10s */
      resetAfter: zDuration().default(10_000),
    })
    .prefault({})
    .superRefine((backoff, ctx) => {
      if (backoff.max < backoff.initial)
        ctx.addIssue({ code: 'custom', path: ['max'], message: `must be at least initial (${backoff.initial}ms)` });
    }),
  /** More than `restarts` crashes within `window` is a crash loop: the instance is not restarted again. */
  crashLoop: z
    .strictObject({
      /** Restarts allowed within `window`. @default 5 */
      restarts: z.number().int().min(1).max(1000).default(5),
      /** @default 60s */
      window: zDuration().default(60_000),
    })
    .prefault({}),
});

/** `services.<name>.restart` as written. */
export type RestartOptions = z.input<typeof restartOptionsSchema>;
/** `services.<name>.restart` validated, durations in milliseconds. */
export type ResolvedRestartOptions = z.output<typeof restartOptionsSchema>;

/** How an instance ended, as the tracker needs it. */
export interface ExitRecord {
  readonly code: number | null;
  readonly signal: string | null;
  /** When it exited, in ms since the epoch. */
  readonly at: number;
}

/** What to do after an exit. */
export type RestartDecision =
  | { readonly action: 'restart'; readonly delayMs: number; readonly attempt: number }
  | { readonly action: 'stop'; readonly reason: string }
  | { readonly action: 'crash-loop'; readonly crashes: readonly ExitRecord[] };

/** Decides, exit after exit, whether one instance is restarted and after how long. */
export interface RestartTracker {
  /**
   * Records an exit of a process that started at `startedAt` and decides what follows.
   * `duringStartup` exits restart only under the `always` policy.
   */
  onExit(exit: ExitRecord, startedAt: number, duringStartup: boolean): RestartDecision;
  /** The exits counted towards a crash loop (those within the window, oldest first). */
  readonly recentCrashes: readonly ExitRecord[];
}

/** True for an exit code 0 without a signal. */
export function isCleanExit(exit: { code: number | null; signal: string | null }): boolean {
  return exit.code === 0 && exit.signal === null;
}

/**
 * Creates the restart bookkeeping of one instance: the policy decides whether an exit restarts
 * it, capped exponential backoff (no jitter: one instance, nothing to spread) how long to wait,
 * and a sliding window of exits whether it is crash-looping. The backoff starts over once a
 * process stayed up for `backoff.resetAfter`.
 *
 * @example
 * ```ts
 * const tracker = createRestartTracker(restartOptionsSchema.parse({ crashLoop: { restarts: 1 } }));
 * tracker.onExit({ code: 1, signal: null, at: 1000 }, 900, false); // { action: 'restart', delayMs: 500, attempt: 1 }
 * tracker.onExit({ code: 1, signal: null, at: 2000 }, 1600, false); // { action: 'crash-loop', crashes: [...] }
 * ```
 */
export function createRestartTracker(options: ResolvedRestartOptions): RestartTracker {
  const delay = exponentialBackoff({
    initialMs: options.backoff.initial,
    maxMs: options.backoff.max,
    jitter: 'none',
  });
  let attempt = 0;
  let crashes: ExitRecord[] = [];
  return {
    get recentCrashes() {
      return crashes;
    },
    onExit(exit, startedAt, duringStartup) {
      const policy = options.policy;
      if (policy === RestartPolicy.Never) return { action: 'stop', reason: 'restart policy never' };
      if (duringStartup && policy !== RestartPolicy.Always)
        return { action: 'stop', reason: `exited during start-up (restart policy ${policy})` };
      if (policy === RestartPolicy.OnFailure && isCleanExit(exit))
        return { action: 'stop', reason: 'exited cleanly (restart policy on-failure)' };
      if (exit.at - startedAt >= options.backoff.resetAfter) attempt = 0;
      crashes = [...crashes.filter((c) => exit.at - c.at < options.crashLoop.window), exit];
      if (crashes.length > options.crashLoop.restarts) return { action: 'crash-loop', crashes };
      attempt += 1;
      return { action: 'restart', delayMs: delay(attempt), attempt };
    },
  };
}
