/**
 * Rate, errors and duration (RED) per route and method over a rolling window, kept in 5-second
 * slots with a log-scale latency histogram each, fed by the gateway's `onResponse` hook.
 * Recording is a few map reads and increments: no allocation once a route's series exists.
 */

/** The width of one slot, and of one point of a series. */
export const RED_SLOT_MS = 5000;

/** The longest window a query may ask for: 15 minutes. */
export const RED_MAX_WINDOW_MS = 15 * 60_000;

const slots = RED_MAX_WINDOW_MS / RED_SLOT_MS + 1;

// Latency bins: bin i holds durations up to BASE_MS * GROWTH^i; ~9% wide, 0.05 ms to ~2 min.
const BASE_MS = 0.05;
const GROWTH = 1.09;
const BINS = 176;
const LOG_GROWTH = Math.log(GROWTH);

function binOf(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  const bin = Math.ceil(Math.log(ms / BASE_MS) / LOG_GROWTH);
  return bin >= BINS ? BINS - 1 : bin;
}

function upperBoundMs(bin: number): number {
  return BASE_MS * GROWTH ** bin;
}

interface Series {
  readonly route: string;
  readonly method: string;
  /** Slot start (epoch ms) each ring position currently holds. */
  readonly starts: Float64Array;
  readonly requests: Uint32Array;
  readonly errors: Uint32Array;
  /** `slots * BINS` counters. */
  readonly histogram: Uint32Array;
}

/** One point of {@link RedRow.series}: a 5-second slot. */
export interface RedPoint {
  /** Slot start, epoch milliseconds. */
  readonly t: number;
  readonly requests: number;
  readonly errors: number;
  readonly p99Ms: number;
}

/** One route and method over the window, as `GET /admin/red` returns it. */
export interface RedRow {
  readonly route: string;
  readonly method: string;
  readonly requests: number;
  /** Responses with status >= 500, and requests the client left before an answer (status 0). */
  readonly errors: number;
  /** `errors / requests`, 0 without requests. */
  readonly errorRate: number;
  /** Requests per second over the window. */
  readonly rps: number;
  /** Estimated from the histogram (within ~9%); 0 without requests. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** One point per 5 s over the window, oldest first. */
  readonly series: readonly RedPoint[];
}

/** A rolling RED recorder. */
export interface RedRecorder {
  /** Records one response; the signature matches the gateway's `onResponse`. */
  record(route: string, method: string, status: number, durationMs: number): void;
  /** Rows with at least one request in the last `windowMs` (clamped to 5 s..15 min), busiest first. */
  query(windowMs: number): RedRow[];
}

/**
 * Creates a RED recorder.
 *
 * @example
 * ```ts
 * const red = createRedRecorder();
 * createGateway({ options, discovery, onResponse: red.record });
 * red.query(60_000); // [{ route: '/api/orders', method: 'GET', requests: 12, ... }]
 * ```
 */
export function createRedRecorder(now: () => number = Date.now): RedRecorder {
  const byRoute = new Map<string, Map<string, Series>>();

  const seriesFor = (route: string, method: string): Series => {
    let methods = byRoute.get(route);
    if (methods === undefined) {
      methods = new Map();
      byRoute.set(route, methods);
    }
    let series = methods.get(method);
    if (series === undefined) {
      series = {
        route,
        method,
        starts: new Float64Array(slots).fill(-1),
        requests: new Uint32Array(slots),
        errors: new Uint32Array(slots),
        histogram: new Uint32Array(slots * BINS),
      };
      methods.set(method, series);
    }
    return series;
  };

  /** The ring position of the slot starting at `start`, reset when it held an older slot. */
  const position = (series: Series, start: number): number => {
    const at = (start / RED_SLOT_MS) % slots;
    if (series.starts[at] !== start) {
      series.starts[at] = start;
      series.requests[at] = 0;
      series.errors[at] = 0;
      series.histogram.fill(0, at * BINS, (at + 1) * BINS);
    }
    return at;
  };

  const quantile = (histogram: Uint32Array, total: number, q: number): number => {
    if (total === 0) return 0;
    const rank = Math.ceil(total * q);
    let seen = 0;
    for (let bin = 0; bin < BINS; bin++) {
      seen += histogram[bin] ?? 0;
      if (seen >= rank) return Math.round(upperBoundMs(bin) * 100) / 100;
    }
    return Math.round(upperBoundMs(BINS - 1) * 100) / 100;
  };

  return {
    record(route, method, status, durationMs) {
      const series = seriesFor(route, method);
      const t = now();
      const at = position(series, t - (t % RED_SLOT_MS));
      series.requests[at] = (series.requests[at] ?? 0) + 1;
      if (status >= 500 || status === 0) series.errors[at] = (series.errors[at] ?? 0) + 1;
      const bin = at * BINS + binOf(durationMs);
      series.histogram[bin] = (series.histogram[bin] ?? 0) + 1;
    },
    query(windowMs) {
      const window = Math.min(RED_MAX_WINDOW_MS, Math.max(RED_SLOT_MS, windowMs));
      const t = now();
      const current = t - (t % RED_SLOT_MS);
      const count = Math.ceil(window / RED_SLOT_MS);
      const rows: RedRow[] = [];
      for (const methods of byRoute.values()) {
        for (const series of methods.values()) {
          const merged = new Uint32Array(BINS);
          const points: RedPoint[] = [];
          let requests = 0;
          let errors = 0;
          for (let i = count - 1; i >= 0; i--) {
            const start = current - i * RED_SLOT_MS;
            const at = (start / RED_SLOT_MS) % slots;
            if (series.starts[at] !== start) {
              points.push({ t: start, requests: 0, errors: 0, p99Ms: 0 });
              continue;
            }
            const slotRequests = series.requests[at] ?? 0;
            const slotHistogram = series.histogram.subarray(at * BINS, (at + 1) * BINS);
            for (let bin = 0; bin < BINS; bin++) merged[bin] = (merged[bin] ?? 0) + (slotHistogram[bin] ?? 0);
            requests += slotRequests;
            errors += series.errors[at] ?? 0;
            points.push({
              t: start,
              requests: slotRequests,
              errors: series.errors[at] ?? 0,
              p99Ms: quantile(slotHistogram, slotRequests, 0.99),
            });
          }
          if (requests === 0) continue;
          rows.push({
            route: series.route,
            method: series.method,
            requests,
            errors,
            errorRate: errors / requests,
            rps: Math.round((requests / (window / 1000)) * 1000) / 1000,
            p50Ms: quantile(merged, requests, 0.5),
            p99Ms: quantile(merged, requests, 0.99),
            series: points,
          });
        }
      }
      return rows.sort((a, b) => b.requests - a.requests || a.route.localeCompare(b.route));
    },
  };
}
