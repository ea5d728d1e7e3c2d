// Waterfall layout of one trace: spans ordered as a tree (children under their parent, by
// start time), each placed on a shared time axis as offset and width percentages. Pure, so
// node tests import it as it is served.

/**
 * @typedef {{
 *   spanId: string, parentSpanId: string | null, service: string, name: string,
 *   startTimeUs: number, endTimeUs: number, status: { code: string },
 * }} SpanLike
 * @typedef {{
 *   span: SpanLike, depth: number, offsetPct: number, widthPct: number,
 *   startMs: number, durationMs: number, error: boolean, hasChildren: boolean,
 * }} WaterfallRow
 * @typedef {{ rows: WaterfallRow[], startUs: number, totalMs: number, services: string[] }} Waterfall
 */

/** Bars narrower than this (percent of the axis) are drawn at this width so they stay visible. */
export const minBarPct = 0.4;

/**
 * Lays out the spans of one trace. A span whose parent is not among `spans` (a remote parent,
 * or one the store evicted) is a root. Siblings are ordered by start time, then span id, so the
 * layout does not depend on the order spans arrived in.
 * @template {SpanLike} S
 * @param {readonly S[]} spans
 * @returns {Waterfall}
 */
export function layoutWaterfall(spans) {
  if (spans.length === 0) return { rows: [], startUs: 0, totalMs: 0, services: [] };
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  /** @type {Map<string, S[]>} */
  const children = new Map();
  /** @type {S[]} */
  const roots = [];
  for (const span of spans) {
    const parent = span.parentSpanId;
    if (parent === null || parent === span.spanId || !byId.has(parent)) {
      roots.push(span);
      continue;
    }
    const list = children.get(parent);
    if (list) list.push(span);
    else children.set(parent, [span]);
  }
  let startUs = Number.POSITIVE_INFINITY;
  let endUs = Number.NEGATIVE_INFINITY;
  for (const span of spans) {
    startUs = Math.min(startUs, span.startTimeUs);
    endUs = Math.max(endUs, span.endTimeUs, span.startTimeUs);
  }
  const totalUs = endUs - startUs;
  /** @type {WaterfallRow[]} */
  const rows = [];
  const seen = new Set();
  /** @param {S} span @param {number} depth */
  const visit = (span, depth) => {
    if (seen.has(span.spanId)) return;
    seen.add(span.spanId);
    const kids = sortSpans(children.get(span.spanId) ?? []);
    const durationUs = Math.max(0, span.endTimeUs - span.startTimeUs);
    const offsetPct = totalUs === 0 ? 0 : ((span.startTimeUs - startUs) / totalUs) * 100;
    const rawWidth = totalUs === 0 ? 100 : (durationUs / totalUs) * 100;
    const widthPct = Math.min(Math.max(rawWidth, minBarPct), 100 - Math.min(offsetPct, 100 - minBarPct));
    rows.push({
      span,
      depth,
      offsetPct,
      widthPct,
      startMs: (span.startTimeUs - startUs) / 1000,
      durationMs: durationUs / 1000,
      error: span.status.code === 'error',
      hasChildren: kids.length > 0,
    });
    for (const child of kids) visit(child, depth + 1);
  };
  for (const root of sortSpans(roots)) visit(root, 0);
  // Spans caught in a parent cycle are reachable from no root; show them rather than lose them.
  for (const span of sortSpans(spans.filter((s) => !seen.has(s.spanId)))) visit(span, 0);
  const services = [...new Set(spans.map((s) => s.service))].sort();
  return { rows, startUs, totalMs: totalUs / 1000, services };
}

/**
 * Time-axis ticks for a trace `totalMs` long: about `count` round values in ms from 0.
 * @param {number} totalMs
 * @param {number} count
 * @returns {{ ms: number, pct: number }[]}
 */
export function timeTicks(totalMs, count) {
  if (!(totalMs > 0)) return [{ ms: 0, pct: 0 }];
  const rough = totalMs / Math.max(1, count);
  const exponent = Math.floor(Math.log10(rough));
  const base = 10 ** exponent;
  const step = [1, 2, 5, 10].map((m) => m * base).find((s) => s >= rough) ?? 10 * base;
  const out = [];
  for (let ms = 0; ms <= totalMs + 1e-9; ms += step) {
    out.push({ ms: Number(ms.toPrecision(12)), pct: (ms / totalMs) * 100 });
  }
  return out;
}

/** Number of distinct service colours in styles.css (`--service-0` ... `--service-7`). */
export const serviceColourCount = 8;

/**
 * A stable colour slot per service: services sorted by name get slots 0, 1, 2... modulo the
 * palette, so one service keeps its colour across the traces of one system.
 * @param {readonly string[]} services
 * @returns {Map<string, number>}
 */
export function serviceColours(services) {
  const sorted = [...new Set(services)].sort();
  return new Map(sorted.map((s, i) => [s, i % serviceColourCount]));
}

/** @template {SpanLike} S @param {S[]} list @returns {S[]} */
function sortSpans(list) {
  return [...list].sort((a, b) => a.startTimeUs - b.startTimeUs || (a.spanId < b.spanId ? -1 : 1));
}
