// Chart maths for the RED charts: axis bounds, linear scales and SVG path strings. Pure, so
// node tests import it as it is served.

/**
 * The smallest "nice" number (1, 2 or 5 times a power of ten) at or above `value`; 1 for
 * zero, negative or non-finite input, so an empty chart still has an axis.
 * @param {number} value
 * @returns {number}
 */
export function niceCeil(value) {
  if (!Number.isFinite(value) || value <= 0) return 1;
  const exponent = Math.floor(Math.log10(value));
  const base = 10 ** exponent;
  for (const step of [1, 2, 5, 10]) {
    const candidate = step * base;
    // Round off float noise (0.1 * 3 and the like) before comparing.
    if (Number(candidate.toPrecision(12)) >= value) return Number(candidate.toPrecision(12));
  }
  return 10 * base;
}

/**
 * A linear map from `domain` to `range`; a zero-width domain maps everything to the range start.
 * @param {readonly [number, number]} domain
 * @param {readonly [number, number]} range
 * @returns {(value: number) => number}
 */
export function linearScale(domain, range) {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  if (span === 0) return () => r0;
  return (value) => r0 + ((value - d0) / span) * (r1 - r0);
}

/**
 * `count + 1` evenly spaced tick values from 0 to `max` inclusive.
 * @param {number} max
 * @param {number} count
 * @returns {number[]}
 */
export function ticks(max, count) {
  const n = Math.max(1, Math.floor(count));
  const out = [];
  for (let i = 0; i <= n; i++) out.push(Number(((max * i) / n).toPrecision(12)));
  return out;
}

/**
 * @typedef {{ width: number, height: number, top: number, right: number, bottom: number, left: number }} ChartBox
 * @typedef {{ x: number, y: number }} Point
 * @typedef {{
 *   line: string, area: string, points: Point[], isolated: Point[], yMax: number,
 *   yTicks: { value: number, y: number }[], xDomain: [number, number],
 * }} ChartModel
 */

/**
 * Lays out one time series in a box: the y axis runs from 0 to a nice ceiling of the largest
 * value (or `minMax` when larger), the x axis from the first to the last timestamp. Points
 * with a non-finite value break the line (a gap) rather than drop to zero.
 * @param {readonly { t: number, value: number | null }[]} series sorted by `t`
 * @param {ChartBox} box
 * @param {{ minMax?: number, tickCount?: number }} [options]
 * @returns {ChartModel}
 */
export function chartModel(series, box, options = {}) {
  const finite = series.filter((p) => p.value !== null && Number.isFinite(p.value));
  const largest = finite.reduce((m, p) => Math.max(m, /** @type {number} */ (p.value)), 0);
  const yMax = niceCeil(Math.max(largest, options.minMax ?? 0));
  const first = series[0];
  const last = series[series.length - 1];
  /** @type {[number, number]} */
  const xDomain = first && last ? [first.t, last.t] : [0, 0];
  const x0 = box.left;
  const x1 = box.width - box.right;
  const y0 = box.height - box.bottom;
  const y1 = box.top;
  const xs = linearScale(xDomain, [x0, x1]);
  const ys = linearScale([0, yMax], [y0, y1]);
  /** @type {Point[]} */
  const points = [];
  let line = '';
  let area = '';
  /** @type {Point[]} */
  let run = [];
  /** @type {Point[]} */
  const isolated = [];
  const flush = () => {
    if (run.length === 0) return;
    // A point between gaps draws no line; the chart marks it with a dot instead.
    if (run.length === 1 && run[0]) isolated.push(run[0]);
    const path = run.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(p.x)},${round(p.y)}`).join(' ');
    line += (line ? ' ' : '') + path;
    const start = run[0];
    const end = run[run.length - 1];
    if (start && end)
      area += `${area ? ' ' : ''}${path} L${round(end.x)},${round(y0)} L${round(start.x)},${round(y0)} Z`;
    run = [];
  };
  for (const p of series) {
    if (p.value === null || !Number.isFinite(p.value)) {
      flush();
      continue;
    }
    const point = { x: series.length === 1 ? (x0 + x1) / 2 : xs(p.t), y: ys(p.value) };
    points.push(point);
    run.push(point);
  }
  flush();
  const yTicks = ticks(yMax, options.tickCount ?? 2).map((value) => ({ value, y: round(ys(value)) }));
  return { line, area, points, isolated, yMax, yTicks, xDomain };
}

/** @param {number} n */
function round(n) {
  return Math.round(n * 10) / 10;
}

/**
 * @typedef {{ t: number, requests: number, errors: number, p99Ms: number | null }} RedPoint
 * @typedef {{ t: number, value: number | null }} SeriesPoint
 */

/**
 * Splits a route's RED series into the three charted series: requests per second (requests
 * in each interval over the interval length, taken from the spacing of the points, 5 s when
 * there is one point), error rate (errors / requests, a gap when there were no requests) and
 * p99 latency (a gap when there were no requests).
 * @param {readonly RedPoint[]} points
 * @returns {{ rps: SeriesPoint[], errorRate: SeriesPoint[], p99Ms: SeriesPoint[] }}
 */
export function redSeries(points) {
  const sorted = [...points].sort((a, b) => a.t - b.t);
  const first = sorted[0];
  const second = sorted[1];
  const stepMs = first && second && second.t > first.t ? second.t - first.t : 5000;
  return {
    rps: sorted.map((p) => ({ t: p.t, value: p.requests / (stepMs / 1000) })),
    errorRate: sorted.map((p) => ({ t: p.t, value: p.requests > 0 ? p.errors / p.requests : null })),
    p99Ms: sorted.map((p) => ({
      t: p.t,
      value: p.requests > 0 && p.p99Ms !== null && Number.isFinite(p.p99Ms) ? p.p99Ms : null,
    })),
  };
}
