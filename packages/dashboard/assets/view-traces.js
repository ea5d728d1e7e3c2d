// Traces: recent traces filtered by service, and one trace as a waterfall across services
// with the selected span's attributes and events.

import { apiGet } from './api.js';
import { badge, dataTable, errorNotice, h, replaceKeepingFocus } from './dom.js';
import { formatClock, formatDuration, formatRelative, formatTimestamp, shortId } from './format.js';
import * as store from './store.js';
import { layoutWaterfall, serviceColours, timeTicks } from './waterfall.js';

const listLimit = 100;
/** A trace younger than this may still gain spans. */
const recentTraceMs = 30_000;

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} query
 * @param {(hash: string) => void} navigate
 * @returns {() => void}
 */
export function mountTraceList(main, query, navigate) {
  const service = query.get('service') ?? '';
  /** @type {any[]} */
  let traces = [];
  /** @type {unknown} */
  let error = null;
  let loaded = false;
  const body = h('div', { class: 'section-body', 'aria-live': 'polite' });
  const select = /** @type {HTMLSelectElement} */ (
    h('select', {
      id: 'trace-service',
      name: 'service',
      'data-filter': '',
      onchange: () => navigate(select.value ? `#/traces?service=${encodeURIComponent(select.value)}` : '#/traces'),
    })
  );
  const fillServices = () => {
    const names = new Set(
      /** @type {string[]} */ ((store.get('services') ?? []).map((/** @type {any} */ s) => s.service)),
    );
    for (const t of traces) for (const s of t.services ?? []) names.add(s);
    if (service) names.add(service);
    const current = select.value || service;
    select.replaceChildren(
      h('option', { value: '' }, 'all services'),
      ...[...names].sort().map((n) => h('option', { value: n, selected: n === current }, n)),
    );
  };

  const draw = () => {
    fillServices();
    if (error) return replaceKeepingFocus(body, errorNotice(error));
    if (!loaded) return replaceKeepingFocus(body, h('p', { class: 'empty' }, 'Loading…'));
    const now = Date.now();
    replaceKeepingFocus(
      body,
      dataTable({
        caption: 'Recent traces, newest first',
        captionHidden: true,
        columns: [
          { label: 'Trace' },
          { label: 'Started' },
          { label: 'Services' },
          { label: 'Duration', numeric: true },
          { label: 'Spans', numeric: true },
          { label: 'Errors', numeric: true },
        ],
        rows: traces.map((t) => [
          h(
            'a',
            { href: `#/traces/${encodeURIComponent(t.traceId)}`, 'data-focus-key': `trace-${t.traceId}` },
            h('span', { class: 'trace-name' }, String(t.name)),
            h('span', { class: 'mono muted block' }, `${t.service} · ${shortId(String(t.traceId), 12)}`),
          ),
          h('time', { title: formatTimestamp(t.startTimeUs / 1000) }, formatRelative(t.startTimeUs / 1000, now)),
          (t.services ?? []).join(', '),
          formatDuration(Number(t.durationMs)),
          String(t.spanCount),
          t.errorCount > 0 ? badge(String(t.errorCount), 'bad') : '0',
        ]),
        empty: service ? `No recent traces touch ${service}.` : 'No traces yet.',
      }),
    );
  };

  const load = async () => {
    const params = new URLSearchParams({ limit: String(listLimit) });
    if (service) params.set('service', service);
    try {
      traces = await apiGet(`/admin/traces?${params}`);
      error = null;
    } catch (err) {
      error = err;
    }
    loaded = true;
    draw();
  };

  const offPoll = store.subscribe(['poll'], () => load());
  const offServices = store.subscribe(['services'], () => fillServices());
  const offTrace = store.subscribe(['trace'], (value) => {
    const t = /** @type {any} */ (value);
    if (service && !(t.services ?? []).includes(service)) return;
    traces = [t, ...traces.filter((x) => x.traceId !== t.traceId)].slice(0, listLimit);
    draw();
  });

  main.replaceChildren(
    h('h1', {}, 'Traces'),
    h(
      'section',
      { class: 'panel', 'aria-label': 'Trace list' },
      h(
        'form',
        {
          class: 'filters',
          role: 'search',
          'aria-label': 'Filter traces',
          onsubmit: (/** @type {Event} */ e) => e.preventDefault(),
        },
        h('label', { for: 'trace-service' }, 'Service'),
        select,
      ),
      body,
    ),
  );
  draw();
  load();
  return () => {
    offPoll();
    offServices();
    offTrace();
  };
}

/**
 * @param {HTMLElement} main
 * @param {string} traceId
 * @returns {() => void}
 */
export function mountTraceDetail(main, traceId) {
  const body = h('div', { class: 'section-body' });
  const details = h('aside', { class: 'span-details panel', 'aria-live': 'polite', 'aria-label': 'Selected span' });
  /** @type {string | null} */
  let selected = null;
  /** @type {any[]} */
  let spans = [];

  const showSpan = (/** @type {any} */ span) => {
    selected = span.spanId;
    for (const row of body.querySelectorAll('[data-span-id]')) {
      row.setAttribute('aria-pressed', String(row.getAttribute('data-span-id') === selected));
    }
    const attrs = Object.entries(span.attributes ?? {});
    details.replaceChildren(
      h('h2', {}, String(span.name)),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Service'),
        h('dd', {}, String(span.service)),
        h('dt', {}, 'Kind'),
        h('dd', {}, String(span.kind)),
        h('dt', {}, 'Status'),
        h(
          'dd',
          {},
          badge(
            String(span.status?.code ?? 'unset'),
            span.status?.code === 'error' ? 'bad' : span.status?.code === 'ok' ? 'ok' : 'neutral',
          ),
          span.status?.message ? ` ${span.status.message}` : null,
        ),
        h('dt', {}, 'Duration'),
        h('dd', {}, formatDuration(Number(span.durationMs))),
        h('dt', {}, 'Span id'),
        h('dd', { class: 'mono' }, String(span.spanId)),
      ),
      h('h3', {}, 'Attributes'),
      dataTable({
        caption: 'Span attributes',
        captionHidden: true,
        columns: [
          { label: 'Key', className: 'mono' },
          { label: 'Value', className: 'mono wrap' },
        ],
        rows: attrs.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
        empty: 'No attributes.',
      }),
      h('h3', {}, 'Events'),
      Array.isArray(span.events) && span.events.length > 0
        ? h(
            'ol',
            { class: 'events' },
            span.events.map((/** @type {any} */ e) =>
              h(
                'li',
                {},
                h('span', { class: 'mono muted' }, formatClock(e.timeUs / 1000)),
                ' ',
                h('strong', {}, String(e.name)),
                Object.entries(e.attributes ?? {}).map(([k, v]) =>
                  h('span', { class: 'block mono' }, `${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}`),
                ),
              ),
            ),
          )
        : h('p', { class: 'empty' }, 'No events.'),
    );
  };

  const draw = () => {
    const layout = layoutWaterfall(spans);
    const colours = serviceColours(layout.services);
    const ticks = timeTicks(layout.totalMs, 5);
    const rows = layout.rows.map((row) => {
      const span = /** @type {any} */ (row.span);
      const colour = colours.get(span.service) ?? 0;
      const label = `${span.service} ${span.name}, starts at ${formatDuration(row.startMs)}, takes ${formatDuration(
        row.durationMs,
      )}${row.error ? ', error' : ''}`;
      return h(
        'li',
        { class: `wf-row${row.error ? ' error' : ''}` },
        h(
          'button',
          {
            type: 'button',
            class: 'wf-button',
            'data-span-id': span.spanId,
            'data-service': span.service,
            'data-focus-key': `span-${span.spanId}`,
            'aria-pressed': String(span.spanId === selected),
            'aria-label': label,
            onclick: () => showSpan(span),
            onkeydown: (/** @type {KeyboardEvent} */ e) => moveFocus(e),
          },
          h(
            'span',
            { class: 'wf-label', style: { '--depth': String(row.depth) } },
            h('span', { class: `swatch service-${colour}`, 'aria-hidden': 'true' }),
            h('span', { class: 'wf-service' }, String(span.service)),
            h('span', { class: 'wf-name' }, String(span.name)),
            row.error ? h('span', { class: 'wf-error', title: 'error' }, '⚠ error') : null,
          ),
          h(
            'span',
            { class: 'wf-track' },
            h('span', {
              class: `wf-bar service-${colour}${row.error ? ' error' : ''}`,
              style: { left: `${row.offsetPct}%`, width: `${row.widthPct}%` },
            }),
            h(
              'span',
              {
                class: 'wf-duration',
                style: { left: `calc(${row.offsetPct + row.widthPct}% + 0.3rem)` },
              },
              formatDuration(row.durationMs),
            ),
          ),
        ),
      );
    });
    const errors = layout.rows.filter((r) => r.error).length;
    replaceKeepingFocus(
      body,
      h(
        'p',
        { class: 'summary' },
        `${spans.length} spans across ${layout.services.length} services, ${formatDuration(layout.totalMs)}`,
        errors > 0 ? [', ', badge(`${errors} error${errors === 1 ? '' : 's'}`, 'bad')] : null,
        layout.startUs > 0 ? `, started ${formatTimestamp(layout.startUs / 1000)}` : null,
      ),
      h(
        'ul',
        { class: 'legend', 'aria-label': 'Service colours' },
        layout.services.map((sv) =>
          h('li', {}, h('span', { class: `swatch service-${colours.get(sv) ?? 0}`, 'aria-hidden': 'true' }), sv),
        ),
      ),
      h(
        'div',
        { class: 'waterfall', role: 'group', 'aria-label': 'Trace waterfall; arrow keys move between spans' },
        h(
          'div',
          { class: 'wf-axis', 'aria-hidden': 'true' },
          h('span', { class: 'wf-label' }, 'Service · span'),
          h(
            'span',
            { class: 'wf-track' },
            ticks.map((t) => h('span', { class: 'wf-tick', style: { left: `${t.pct}%` } }, formatDuration(t.ms))),
          ),
        ),
        h('ol', { class: 'wf-rows' }, rows),
      ),
    );
  };

  /** @param {KeyboardEvent} e */
  const moveFocus = (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
    const buttons = /** @type {HTMLElement[]} */ ([...body.querySelectorAll('.wf-button')]);
    const i = buttons.indexOf(/** @type {HTMLElement} */ (e.currentTarget));
    const next =
      e.key === 'Home'
        ? 0
        : e.key === 'End'
          ? buttons.length - 1
          : Math.min(buttons.length - 1, Math.max(0, i + (e.key === 'ArrowDown' ? 1 : -1)));
    buttons[next]?.focus();
    e.preventDefault();
  };

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let refresh;
  let disposed = false;
  let lastJson = '';
  const load = async () => {
    clearTimeout(refresh);
    try {
      const fetched = await apiGet(`/admin/traces/${encodeURIComponent(traceId)}`);
      if (disposed) return;
      const json = JSON.stringify(fetched);
      if (json !== lastJson) {
        lastJson = json;
        spans = fetched;
        draw();
        const first = spans.find((s) => s.spanId === selected) ?? layoutWaterfall(spans).rows[0]?.span;
        if (first) showSpan(first);
      }
      // Services export their spans in batches, after the gateway's root: while the trace is
      // young, read it again so late spans join the waterfall.
      const startMs = spans.length > 0 ? Math.min(...spans.map((s) => s.startTimeUs)) / 1000 : Date.now();
      if (Date.now() - startMs < recentTraceMs) refresh = setTimeout(load, 2000);
    } catch (err) {
      if (!disposed) replaceKeepingFocus(body, errorNotice(err));
    }
  };

  // Late spans of this trace (a slow child exporting after the root) arrive as `trace` events.
  const off = store.subscribe(['trace'], (value) => {
    if (/** @type {any} */ (value)?.traceId === traceId) load();
  });
  main.replaceChildren(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/traces' }, 'Traces'), ' / '),
    h('h1', { class: 'mono' }, traceId),
    h('div', { class: 'trace-layout' }, h('section', { class: 'panel', 'aria-label': 'Waterfall' }, body), details),
  );
  replaceKeepingFocus(body, h('p', { class: 'empty' }, 'Loading…'));
  load();
  return () => {
    disposed = true;
    clearTimeout(refresh);
    off();
  };
}
