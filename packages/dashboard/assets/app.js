// The dashboard's entry: the page shell, hash routing, keyboard shortcuts, the token form
// and the live feed that keeps the store current.

import { ApiError, apiGet, getToken, onUnauthorized, setToken } from './api.js';
import { h } from './dom.js';
import { formatDuration } from './format.js';
import { startLive } from './live.js';
import * as store from './store.js';
import { mountOverview } from './view-overview.js';
import { mountSagaDetail, mountSagaList } from './view-sagas.js';
import { mountTraceDetail, mountTraceList } from './view-traces.js';

/** The documents the live feed sends as snapshots, and where to GET them when polling. */
const snapshots = /** @type {const} */ ([
  ['services', '/admin/services'],
  ['breakers', '/admin/breakers'],
  ['red', '/admin/red'],
  ['rate-limits', '/admin/rate-limits'],
]);

const nav = [
  { hash: '#/', label: 'Overview', key: 'o' },
  { hash: '#/services', label: 'Services', key: 'i' },
  { hash: '#/routes', label: 'Routes', key: 'r' },
  { hash: '#/breakers', label: 'Breakers', key: 'b' },
  { hash: '#/sagas', label: 'Sagas', key: 's' },
  { hash: '#/traces', label: 'Traces', key: 't' },
];

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const liveIndicator = /** @type {HTMLElement} */ (document.getElementById('live'));
const systemName = /** @type {HTMLElement} */ (document.getElementById('system-name'));
const systemMeta = /** @type {HTMLElement} */ (document.getElementById('system-meta'));
const navList = /** @type {HTMLElement} */ (document.getElementById('nav-list'));
const authPanel = /** @type {HTMLElement} */ (document.getElementById('auth'));
const helpDialog = /** @type {HTMLDialogElement} */ (document.getElementById('help'));

/** @type {(() => void) | null} */
let unmount = null;

/** @param {string} hash */
function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path = '/', queryString = ''] = raw.split('?');
  const query = new URLSearchParams(queryString);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  unmount?.();
  unmount = null;
  const [area, id] = parts;
  if (area === 'sagas' && id) unmount = mountSagaDetail(main, id);
  else if (area === 'sagas') unmount = mountSagaList(main, query, navigate);
  else if (area === 'traces' && id) unmount = mountTraceDetail(main, id);
  else if (area === 'traces') unmount = mountTraceList(main, query, navigate);
  else if (area === 'services' || area === 'routes' || area === 'breakers')
    unmount = mountOverview(main, { only: area });
  else unmount = mountOverview(main);
  const current = `#/${area ?? ''}`;
  for (const link of navList.querySelectorAll('a')) {
    if (link.getAttribute('href') === current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const heading = main.querySelector('h1');
  document.title = `${heading?.textContent ?? 'Dashboard'} · ${store.get('system')?.name ?? 'Switchyard'}`;
}

/** @param {import('./live.js').LiveStatus} status */
function showStatus(status) {
  const text = {
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting…',
    polling: 'Reconnecting (polling every 5 s)',
    unauthorized: 'Token needed',
  }[status];
  liveIndicator.textContent = text;
  liveIndicator.dataset.status = status;
}

function showAuth() {
  if (!authPanel.hidden) return;
  authPanel.hidden = false;
  // Nothing below can load without a token: hide it rather than show "Loading…" forever.
  document.body.classList.add('needs-token');
  const input = /** @type {HTMLInputElement} */ (authPanel.querySelector('input'));
  const message = /** @type {HTMLElement} */ (authPanel.querySelector('.auth-message'));
  message.textContent = getToken()
    ? 'The admin API refused the saved token. Enter another one.'
    : 'The admin API requires a token. Enter one with the read scope (write to retry or abort sagas).';
  input.focus();
}

/** @param {SubmitEvent} event */
async function saveToken(event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (authPanel.querySelector('input'));
  setToken(input.value.trim());
  input.value = '';
  authPanel.hidden = true;
  document.body.classList.remove('needs-token');
  await refreshAll();
  live.restart();
  route();
}

async function refreshAll() {
  await Promise.all([
    loadSystem(),
    apiGet('/admin/routes')
      .then((doc) => store.set('routes', doc))
      .catch(() => {}),
    ...snapshots.map(([key, path]) =>
      apiGet(path)
        .then((doc) => store.set(key, doc))
        .catch(() => {}),
    ),
  ]);
}

async function loadSystem() {
  try {
    const system = await apiGet('/admin/system');
    store.set('system', system);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    systemMeta.textContent = 'admin API unreachable';
  }
}

function drawSystem() {
  const system = store.get('system');
  if (!system) return;
  systemName.textContent = String(system.name ?? 'Switchyard');
  const parts = [];
  if (system.gateway) parts.push(`gateway ${system.gateway}`);
  if (typeof system.startedAt === 'number') parts.push(`up ${formatDuration(Date.now() - system.startedAt)}`);
  systemMeta.textContent = parts.join(' · ');
  for (const [feature, hash] of [
    ['sagas', '#/sagas'],
    ['traces', '#/traces'],
  ]) {
    const link = navList.querySelector(`a[href="${hash}"]`);
    if (link && system.features && system.features[feature] === false) link.setAttribute('data-disabled', '');
  }
}

// Shortcuts: "g" then a letter goes to a view; "/" focuses the view's filter; "?" lists them.
let pendingG = 0;
document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  const target = /** @type {HTMLElement} */ (e.target);
  if (target.closest('input, textarea, select, [contenteditable], dialog')) return;
  if (e.key === 'g') {
    pendingG = Date.now();
    return;
  }
  if (Date.now() - pendingG < 1500) {
    pendingG = 0;
    const item = nav.find((n) => n.key === e.key);
    if (item) {
      e.preventDefault();
      navigate(item.hash);
      main.focus();
    }
    return;
  }
  if (e.key === '/') {
    const filter = /** @type {HTMLElement | null} */ (main.querySelector('[data-filter], input[type="search"]'));
    if (filter) {
      e.preventDefault();
      filter.focus();
    }
  } else if (e.key === '?') {
    e.preventDefault();
    helpDialog.showModal();
  }
});

function buildShell() {
  navList.replaceChildren(
    ...nav.map((n) =>
      h(
        'li',
        {},
        h('a', { href: n.hash, 'aria-keyshortcuts': `g ${n.key}`, title: `${n.label} (g ${n.key})` }, n.label),
      ),
    ),
  );
  const list = /** @type {HTMLElement} */ (helpDialog.querySelector('dl'));
  list.replaceChildren(
    ...nav.flatMap((n) => [h('dt', {}, h('kbd', {}, 'g'), ' ', h('kbd', {}, n.key)), h('dd', {}, n.label)]),
    h('dt', {}, h('kbd', {}, '/')),
    h('dd', {}, 'Focus the filter of the view'),
    h('dt', {}, h('kbd', {}, '↑'), ' ', h('kbd', {}, '↓')),
    h('dd', {}, 'Move between spans of a trace'),
    h('dt', {}, h('kbd', {}, '?')),
    h('dd', {}, 'This list'),
    h('dt', {}, h('kbd', {}, 'Esc')),
    h('dd', {}, 'Close a dialog'),
  );
  /** @type {HTMLFormElement} */ (authPanel.querySelector('form')).addEventListener('submit', saveToken);
  /** @type {HTMLElement} */ (document.getElementById('help-open')).addEventListener('click', () =>
    helpDialog.showModal(),
  );
}

buildShell();
onUnauthorized(showAuth);
store.subscribe(['system'], drawSystem);
let pollTick = 0;
const live = startLive({
  onEvent: (name, data) => {
    if (name === 'services' || name === 'breakers' || name === 'red' || name === 'rate-limits') store.set(name, data);
    else if (name === 'saga' || name === 'trace') store.set(name, data);
  },
  onStatus: showStatus,
  poll: async () => {
    await refreshAll();
    store.set('poll', ++pollTick);
  },
});
window.addEventListener('hashchange', route);
route();
refreshAll();
setInterval(drawSystem, 30_000);
