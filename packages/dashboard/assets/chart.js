// Inline SVG line charts for the RED section, drawn from scale.js's model.

import { h, s } from './dom.js';
import { chartModel } from './scale.js';

const box = { width: 240, height: 64, top: 6, right: 4, bottom: 4, left: 4 };

/**
 * A small line chart with its current value beside it. The SVG is an image with a label
 * that says what it shows and the latest and highest values, for screen readers.
 * @param {{ title: string, series: { t: number, value: number | null }[], format: (n: number) => string,
 *   tone?: string, minMax?: number, subject: string }} spec
 */
export function lineChart(spec) {
  const model = chartModel(spec.series, box, { minMax: spec.minMax ?? 0, tickCount: 2 });
  const values = spec.series.map((p) => p.value).filter((v) => v !== null && Number.isFinite(v));
  const latest = values.length > 0 ? values[values.length - 1] : null;
  const peak = values.length > 0 ? Math.max(.../** @type {number[]} */ (values)) : null;
  const latestText = latest === null || latest === undefined ? 'no data' : spec.format(latest);
  const label = `${spec.title} for ${spec.subject}: latest ${latestText}${
    peak === null ? '' : `, highest ${spec.format(peak)}`
  } over ${values.length} points`;
  const svg = s(
    'svg',
    {
      viewBox: `0 0 ${box.width} ${box.height}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': label,
      class: `chart tone-${spec.tone ?? 'neutral'}`,
    },
    s('title', {}, label),
    model.yTicks.map((t) => s('line', { x1: box.left, x2: box.width - box.right, y1: t.y, y2: t.y, class: 'grid' })),
    model.area ? s('path', { d: model.area, class: 'area' }) : null,
    model.line ? s('path', { d: model.line, class: 'line', 'vector-effect': 'non-scaling-stroke' }) : null,
    model.isolated.map((p) =>
      s('line', { x1: p.x, x2: p.x, y1: p.y, y2: p.y, class: 'dot', 'vector-effect': 'non-scaling-stroke' }),
    ),
  );
  return h(
    'figure',
    { class: 'chart-cell' },
    h(
      'figcaption',
      {},
      h('span', { class: 'chart-title' }, spec.title),
      h('span', { class: 'chart-value' }, latestText),
    ),
    svg,
    h('span', { class: 'chart-scale', 'aria-hidden': 'true' }, `max ${spec.format(model.yMax)}`),
  );
}
