// Overview: services and instances, breakers, routes, rate limits and RED charts per route.
// Each section redraws itself when its live document changes.

import { lineChart } from './chart.js';
import { badge, dataTable, h, replaceKeepingFocus } from './dom.js';
import {
  breakerTone,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
  healthTone,
  processTone,
} from './format.js';
import { redSeries } from './scale.js';
import * as store from './store.js';

/**
 * A section that renders `render()` now and again whenever one of `keys` changes.
 * @param {{ id: string, title: string, keys: import('./store.js').StoreKey[], render: () => Node | Node[],
 *   headingLevel?: number }} spec
 * @param {(() => void)[]} disposers
 */
function liveSection(spec, disposers) {
  const body = h('div', { class: 'section-body' });
  const draw = () => {
    const out = spec.render();
    replaceKeepingFocus(body, Array.isArray(out) ? out : [out]);
  };
  draw();
  disposers.push(store.subscribe(spec.keys, draw));
  return h(
    'section',
    { class: 'panel', id: spec.id, 'aria-labelledby': `${spec.id}-title` },
    h(`h${spec.headingLevel ?? 2}`, { id: `${spec.id}-title` }, spec.title),
    body,
  );
}

function loading() {
  return h('p', { class: 'empty' }, 'Loading…');
}

function renderServices() {
  /** @type {any[] | undefined} */
  const services = store.get('services');
  if (services === undefined) return loading();
  /** @type {import('./dom.js').Child[][]} */
  const rows = [];
  for (const svc of services) {
    const instances = Array.isArray(svc.instances) ? svc.instances : [];
    if (instances.length === 0) {
      rows.push([svc.service, '—', '—', badge('no instances', 'bad'), '—', '—', '—']);
      continue;
    }
    for (const inst of instances) {
      rows.push([
        svc.service,
        h('span', { class: 'mono', title: String(inst.id) }, String(inst.id)),
        h('span', { class: 'mono' }, `${inst.address}:${inst.port}`),
        badge(String(inst.health), healthTone(String(inst.health))),
        inst.state ? badge(String(inst.state), processTone(String(inst.state))) : '—',
        inst.ejected ? badge('ejected', 'bad') : h('span', { class: 'muted' }, 'no'),
        typeof inst.restarts === 'number' ? formatCount(inst.restarts) : '—',
      ]);
    }
  }
  const instanceCount = services.reduce((n, svc) => n + (Array.isArray(svc.instances) ? svc.instances.length : 0), 0);
  const passing = services.reduce(
    (n, svc) =>
      n + (Array.isArray(svc.instances) ? svc.instances.filter((i) => i.health === 'passing' && !i.ejected).length : 0),
    0,
  );
  return [
    h(
      'p',
      { class: 'summary' },
      `${services.length} services, ${instanceCount} instances, ${passing} passing and in rotation`,
    ),
    dataTable({
      caption: 'Services and their instances',
      captionHidden: true,
      columns: [
        { label: 'Service' },
        { label: 'Instance' },
        { label: 'Address' },
        { label: 'Health' },
        { label: 'Process' },
        { label: 'Ejected' },
        { label: 'Restarts', numeric: true },
      ],
      rows,
      empty: 'No services are registered.',
    }),
  ];
}

/** @param {any} doc */
function breakerList(doc) {
  if (Array.isArray(doc)) return doc;
  if (doc && Array.isArray(doc.breakers)) return doc.breakers;
  return [];
}

function renderBreakers() {
  const doc = store.get('breakers');
  if (doc === undefined) return loading();
  const breakers = breakerList(doc);
  return dataTable({
    caption: 'Circuit breakers',
    captionHidden: true,
    columns: [
      { label: 'Breaker' },
      { label: 'State' },
      { label: 'Failure rate', numeric: true },
      { label: 'Calls in window', numeric: true },
      { label: 'Consecutive failures', numeric: true },
      { label: 'Trips', numeric: true },
      { label: 'Rejected', numeric: true },
    ],
    rows: breakers.map((b) => [
      String(b.name ?? b.service ?? '?'),
      badge(String(b.state), breakerTone(String(b.state))),
      formatPercent(Number(b.failureRate ?? 0)),
      formatCount(Number(b.calls ?? 0)),
      formatCount(Number(b.consecutiveFailures ?? 0)),
      formatCount(Number(b.trips ?? 0)),
      formatCount(Number(b.totals?.rejected ?? 0)),
    ]),
    rowProps: (i) => ({ 'data-breaker': String(breakers[i]?.name ?? ''), 'data-state': String(breakers[i]?.state) }),
    empty: 'No breakers yet: one is created for each service the gateway calls.',
  });
}

function renderRoutes() {
  const doc = store.get('routes');
  if (doc === undefined) return loading();
  const routes = Array.isArray(doc?.routes) ? doc.routes : [];
  return dataTable({
    caption: 'Gateway routes',
    captionHidden: true,
    columns: [
      { label: 'Path' },
      { label: 'Methods' },
      { label: 'Target' },
      { label: 'Timeout', numeric: true },
      { label: 'Middleware' },
    ],
    rows: routes.map((r) => [
      h('span', { class: 'mono' }, `${r.path}${r.match === 'exact' ? '' : '/*'}`),
      Array.isArray(r.methods) ? r.methods.join(', ') : 'any',
      r.service
        ? String(r.service)
        : Array.isArray(r.upstreams)
          ? r.upstreams.join(', ')
          : r.aggregate
            ? 'aggregate'
            : '—',
      typeof (r.timeoutMs ?? r.timeout) === 'number' ? formatDuration(r.timeoutMs ?? r.timeout) : '—',
      Array.isArray(r.middleware) && r.middleware.length > 0 ? r.middleware.join(', ') : '—',
    ]),
    empty: 'No routes are configured.',
  });
}

/** @param {any} limit */
function describeLimit(limit) {
  if (!limit || typeof limit !== 'object') return String(limit);
  return Object.entries(limit)
    .filter(
      ([k, v]) => k !== 'rejections' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'),
    )
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ');
}

/** @param {any} entry @param {any} limit */
function rejectionsOf(entry, limit) {
  const n = limit?.rejections ?? entry?.rejections;
  return typeof n === 'number' ? formatCount(n) : '—';
}

function renderRateLimits() {
  const doc = store.get('rate-limits');
  if (doc === undefined) return loading();
  /** @type {import('./dom.js').Child[][]} */
  const rows = [];
  for (const limit of Array.isArray(doc?.gateway) ? doc.gateway : []) {
    rows.push(['all routes', describeLimit(limit), rejectionsOf(null, limit)]);
  }
  for (const entry of Array.isArray(doc?.routes) ? doc.routes : []) {
    for (const limit of Array.isArray(entry.limits) ? entry.limits : []) {
      rows.push([String(entry.route ?? '?'), describeLimit(limit), rejectionsOf(entry, limit)]);
    }
  }
  return [
    typeof doc?.rejections === 'number'
      ? h('p', { class: 'summary' }, `${formatCount(doc.rejections)} requests rejected in total`)
      : null,
    dataTable({
      caption: 'Rate limits',
      captionHidden: true,
      columns: [{ label: 'Applies to' }, { label: 'Limit' }, { label: 'Rejections', numeric: true }],
      rows,
      empty: 'No rate limits are configured.',
    }),
  ].filter((n) => n !== null);
}

function renderRed() {
  /** @type {any[] | undefined} */
  const red = store.get('red');
  if (red === undefined) return loading();
  if (red.length === 0) return h('p', { class: 'empty' }, 'No requests in the window yet.');
  return h(
    'ul',
    { class: 'red-grid' },
    red.map((r) => {
      const subject = `${r.method ? `${r.method} ` : ''}${r.route}`;
      const series = redSeries(Array.isArray(r.series) ? r.series : []);
      return h(
        'li',
        { class: 'red-card' },
        h(
          'h3',
          {},
          h('span', { class: 'mono' }, subject),
          h(
            'span',
            { class: 'red-totals' },
            `${formatRate(Number(r.rps ?? 0))} · ${formatPercent(Number(r.errorRate ?? 0))} errors · p50 ${formatDuration(
              Number(r.p50Ms ?? Number.NaN),
            )}`,
          ),
        ),
        h(
          'div',
          { class: 'red-charts' },
          lineChart({ title: 'Requests', subject, series: series.rps, format: formatRate }),
          lineChart({
            title: 'Error rate',
            subject,
            series: series.errorRate,
            format: formatPercent,
            tone: Number(r.errorRate ?? 0) > 0 ? 'bad' : 'neutral',
            minMax: 0.05,
          }),
          lineChart({ title: 'p99 latency', subject, series: series.p99Ms, format: formatDuration, minMax: 10 }),
        ),
      );
    }),
  );
}

/** The section renderers by id, shared by the overview and the single-section views. */
const sections = {
  services: { title: 'Services', keys: ['services'], render: renderServices },
  breakers: { title: 'Circuit breakers', keys: ['breakers'], render: renderBreakers },
  red: { title: 'Requests, errors, latency', keys: ['red'], render: renderRed },
  routes: { title: 'Routes', keys: ['routes'], render: renderRoutes },
  'rate-limits': { title: 'Rate limits', keys: ['rate-limits'], render: renderRateLimits },
};

/**
 * Renders a page of sections: the overview (all of them) or one area (`services`, `routes`,
 * `breakers`).
 * @param {HTMLElement} main
 * @param {{ only?: string }} options
 * @returns {() => void}
 */
export function mountOverview(main, options = {}) {
  /** @type {(() => void)[]} */
  const disposers = [];
  const ids = /** @type {(keyof typeof sections)[]} */ (
    options.only === 'routes'
      ? ['routes', 'red', 'rate-limits']
      : options.only === 'services'
        ? ['services']
        : options.only === 'breakers'
          ? ['breakers']
          : ['services', 'breakers', 'red', 'routes', 'rate-limits']
  );
  const title =
    options.only === 'routes'
      ? 'Routes'
      : options.only === 'services'
        ? 'Services'
        : options.only === 'breakers'
          ? 'Circuit breakers'
          : 'Overview';
  const nodes = ids.map((id) => {
    const spec = sections[id];
    return liveSection(
      { id: `section-${id}`, title: spec.title, keys: /** @type {any} */ (spec.keys), render: spec.render },
      disposers,
    );
  });
  main.replaceChildren(h('h1', { class: 'visually-hidden' }, title), ...nodes);
  return () => {
    for (const d of disposers) d();
  };
}
