import type { ResolvedRolloutAnalysis } from './options.ts';

/** One client response of a rollout's route, as the analysis keeps it. */
interface Sample {
  readonly at: number;
  readonly error: boolean;
  readonly durationMs: number;
}

/** Samples kept per subset at most; the oldest go first. */
const MAX_SAMPLES = 50_000;

/** Numbers of one subset over a window. */
export interface SubsetStats {
  readonly requests: number;
  readonly errors: number;
  /** `errors / requests`, 0 without requests. */
  readonly errorRate: number;
  /** 99th percentile of durations in ms (nearest rank), 0 without requests. */
  readonly p99Ms: number;
}

/** What a judgement says. */
export type Verdict =
  | { readonly kind: 'pass'; readonly reason: string; readonly canary: SubsetStats; readonly stable: SubsetStats }
  | { readonly kind: 'fail'; readonly reason: string; readonly canary: SubsetStats; readonly stable: SubsetStats }
  | {
      readonly kind: 'insufficient';
      readonly reason: string;
      readonly canary: SubsetStats;
      readonly stable: SubsetStats;
    };

/**
 * The responses of one rollout's route, per subset, for the analysis window. Only client
 * traffic is added (the caller drops mirrored copies).
 */
export class ObservationWindow {
  readonly #samples = new Map<string, Sample[]>();

  /** Records one response of `subset`. */
  add(subset: string, at: number, status: number, durationMs: number): void {
    let list = this.#samples.get(subset);
    if (list === undefined) {
      list = [];
      this.#samples.set(subset, list);
    }
    list.push({ at, error: status >= 500, durationMs });
    if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES);
  }

  /** Drops samples older than `from`. */
  trim(from: number): void {
    for (const list of this.#samples.values()) {
      const keep = list.findIndex((s) => s.at >= from);
      if (keep === -1) list.length = 0;
      else if (keep > 0) list.splice(0, keep);
    }
  }

  /** The numbers of `subset` from `from` (inclusive) on. */
  stats(subset: string, from: number): SubsetStats {
    const samples = (this.#samples.get(subset) ?? []).filter((s) => s.at >= from);
    const requests = samples.length;
    if (requests === 0) return { requests: 0, errors: 0, errorRate: 0, p99Ms: 0 };
    const errors = samples.filter((s) => s.error).length;
    const durations = samples.map((s) => s.durationMs).sort((a, b) => a - b);
    const rank = Math.max(0, Math.ceil(0.99 * requests) - 1);
    return { requests, errors, errorRate: errors / requests, p99Ms: durations[rank] ?? 0 };
  }
}

function fixed(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 1 ? 3 : 1).replace(/0+$/, '');
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * Judges the canary against the stable subset from their numbers over the window: `fail` at
 * the first threshold breached, `insufficient` when the canary has fewer than `minRequests`,
 * else `pass`. Relative thresholds are checked only when the stable subset has `minRequests`
 * too (blue-green sends it nothing once switched, so only absolute ones apply there).
 *
 * @example
 * ```ts
 * const verdict = judge(window.stats('v2', from), window.stats('v1', from), analysis, 30_000);
 * if (verdict.kind === 'fail') console.log(verdict.reason); // canary error rate 0.31 > 0.05 over 30s, 212 requests
 * ```
 */
export function judge(
  canary: SubsetStats,
  stable: SubsetStats,
  analysis: ResolvedRolloutAnalysis,
  spanMs: number,
): Verdict {
  const over = `over ${seconds(spanMs)}, ${canary.requests} requests`;
  if (canary.requests < analysis.minRequests) {
    return {
      kind: 'insufficient',
      reason: `canary had ${canary.requests} requests ${`over ${seconds(spanMs)}`}, fewer than minRequests ${analysis.minRequests}`,
      canary,
      stable,
    };
  }
  const fail = (reason: string): Verdict => ({ kind: 'fail', reason, canary, stable });
  if (analysis.maxErrorRate !== undefined && canary.errorRate > analysis.maxErrorRate) {
    return fail(`canary error rate ${fixed(canary.errorRate)} > ${fixed(analysis.maxErrorRate)} ${over}`);
  }
  if (analysis.maxP99Ms !== undefined && canary.p99Ms > analysis.maxP99Ms) {
    return fail(`canary p99 ${fixed(canary.p99Ms)}ms > ${fixed(analysis.maxP99Ms)}ms ${over}`);
  }
  const stableJudged = stable.requests >= analysis.minRequests;
  if (stableJudged && analysis.maxErrorRateRatio !== undefined) {
    // A stable subset without errors would make any canary error infinitely worse; one error
    // in the canary's sample size is the floor the ratio is taken against.
    const floor = Math.max(stable.errorRate, 1 / canary.requests);
    const limit = floor * analysis.maxErrorRateRatio;
    if (canary.errors > 0 && canary.errorRate > limit) {
      return fail(
        `canary error rate ${fixed(canary.errorRate)} > ${fixed(analysis.maxErrorRateRatio)} x stable ${fixed(stable.errorRate)} ${over}`,
      );
    }
  }
  if (stableJudged && analysis.maxP99Ratio !== undefined && stable.p99Ms > 0) {
    if (canary.p99Ms > stable.p99Ms * analysis.maxP99Ratio) {
      return fail(
        `canary p99 ${fixed(canary.p99Ms)}ms > ${fixed(analysis.maxP99Ratio)} x stable p99 ${fixed(stable.p99Ms)}ms ${over}`,
      );
    }
  }
  return {
    kind: 'pass',
    reason: `canary healthy: error rate ${fixed(canary.errorRate)}, p99 ${fixed(canary.p99Ms)}ms ${over}`,
    canary,
    stable,
  };
}
