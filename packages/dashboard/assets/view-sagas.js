// Sagas: the list with status and name filters, and one saga's step timeline with its
// compensations and the retry / abort actions for a parked saga.

import { apiGet, apiPost } from './api.js';
import { badge, dataTable, errorNotice, h, replaceKeepingFocus } from './dom.js';
import { formatClock, formatDuration, formatRelative, formatTimestamp, sagaStatusTone, shortId } from './format.js';
import { isCompensationKind, summariseSteps, transitionLabel } from './saga-model.js';
import * as store from './store.js';

const statuses = ['running', 'compensating', 'parked', 'completed', 'compensated', 'aborted'];
const pageSize = 50;

/** @param {any} err */
function notConfigured(err) {
  return err?.code === 'SY_CLI_SAGAS_NOT_CONFIGURED';
}

function notConfiguredNotice() {
  return h(
    'p',
    { class: 'notice' },
    'Sagas are not configured for this system: add a ',
    h('code', {}, 'sagas:'),
    ' section to switchyard.yaml to see them here.',
  );
}

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} query
 * @param {(hash: string) => void} navigate
 * @returns {() => void}
 */
export function mountSagaList(main, query, navigate) {
  const status = query.get('status') ?? '';
  const name = query.get('name') ?? '';
  /** @type {any[]} */
  let sagas = [];
  /** @type {string | undefined} */
  let nextCursor;
  /** @type {unknown} */
  let error = null;
  let loaded = false;
  const body = h('div', { class: 'section-body', 'aria-live': 'polite', 'aria-busy': 'true' });

  const apply = (/** @type {Event} */ event) => {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    const data = new FormData(form);
    const params = new URLSearchParams();
    const st = String(data.get('status') ?? '');
    const nm = String(data.get('name') ?? '').trim();
    if (st) params.set('status', st);
    if (nm) params.set('name', nm);
    const qs = params.toString();
    navigate(`#/sagas${qs ? `?${qs}` : ''}`);
  };
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter sagas', onsubmit: apply },
    h('label', { for: 'saga-status' }, 'Status'),
    h(
      'select',
      {
        id: 'saga-status',
        name: 'status',
        'data-filter': '',
        onchange: (/** @type {Event} */ e) =>
          /** @type {HTMLFormElement} */ (/** @type {HTMLElement} */ (e.target).closest('form')).requestSubmit(),
      },
      h('option', { value: '' }, 'any'),
      statuses.map((st) => h('option', { value: st, selected: st === status }, st)),
    ),
    h('label', { for: 'saga-name' }, 'Name'),
    h('input', {
      id: 'saga-name',
      name: 'name',
      type: 'search',
      value: name,
      placeholder: 'e.g. place-order',
      autocomplete: 'off',
    }),
    h('button', { type: 'submit' }, 'Apply'),
  );

  const draw = () => {
    body.setAttribute('aria-busy', String(!loaded));
    if (notConfigured(error)) return replaceKeepingFocus(body, notConfiguredNotice());
    if (error) return replaceKeepingFocus(body, errorNotice(error));
    if (!loaded) return replaceKeepingFocus(body, h('p', { class: 'empty' }, 'Loading…'));
    const now = Date.now();
    replaceKeepingFocus(
      body,
      dataTable({
        caption: 'Sagas, newest first',
        captionHidden: true,
        columns: [
          { label: 'Saga' },
          { label: 'Name' },
          { label: 'Status' },
          { label: 'Started' },
          { label: 'Updated' },
          { label: 'Error' },
        ],
        rows: sagas.map((saga) => [
          h(
            'a',
            {
              href: `#/sagas/${encodeURIComponent(saga.id)}`,
              class: 'mono',
              title: saga.id,
              'data-focus-key': `saga-${saga.id}`,
            },
            shortId(String(saga.id), 20),
          ),
          String(saga.name),
          badge(String(saga.status), sagaStatusTone(String(saga.status))),
          h(
            'time',
            { datetime: new Date(saga.createdAt).toISOString(), title: formatTimestamp(saga.createdAt) },
            formatRelative(saga.createdAt, now),
          ),
          h(
            'time',
            { datetime: new Date(saga.updatedAt).toISOString(), title: formatTimestamp(saga.updatedAt) },
            formatRelative(saga.updatedAt, now),
          ),
          saga.error
            ? h(
                'span',
                { class: 'error-text', title: String(saga.error.message ?? '') },
                String(saga.error.code ?? 'error'),
              )
            : '—',
        ]),
        rowProps: (i) => ({ 'data-saga-status': String(sagas[i]?.status) }),
        empty: status || name ? 'No sagas match these filters.' : 'No sagas yet.',
      }),
      nextCursor
        ? h(
            'button',
            { type: 'button', class: 'more', onclick: () => load(nextCursor), 'data-focus-key': 'more' },
            'Load more',
          )
        : null,
    );
  };

  /** @param {string} [cursor] */
  const load = async (cursor) => {
    const params = new URLSearchParams({ limit: String(pageSize) });
    if (status) params.set('status', status);
    if (name) params.set('name', name);
    if (cursor) params.set('cursor', cursor);
    try {
      const page = await apiGet(`/admin/sagas?${params}`);
      sagas = cursor ? [...sagas, ...page.sagas] : page.sagas;
      nextCursor = page.nextCursor;
      error = null;
    } catch (err) {
      error = err;
    }
    loaded = true;
    draw();
  };

  const matches = (/** @type {any} */ saga) => (!status || saga.status === status) && (!name || saga.name === name);
  // A polling tick reads the first page again (not while more pages are shown, which would
  // drop them); a live saga event updates, inserts or removes one row.
  const offPoll = store.subscribe(['poll'], () => {
    if (!nextCursor) load();
  });
  const offSaga = store.subscribe(['saga'], (value) => {
    const saga = /** @type {any} */ (value);
    const i = sagas.findIndex((x) => x.id === saga.id);
    if (i >= 0 && matches(saga)) sagas[i] = saga;
    else if (i >= 0) sagas.splice(i, 1);
    else if (matches(saga)) sagas.unshift(saga);
    else return;
    draw();
  });

  main.replaceChildren(
    h('h1', {}, 'Sagas'),
    h('section', { class: 'panel', 'aria-label': 'Saga list' }, filters, body),
  );
  draw();
  load();
  return () => {
    offPoll();
    offSaga();
  };
}

/**
 * @param {HTMLElement} main
 * @param {string} id
 * @returns {() => void}
 */
export function mountSagaDetail(main, id) {
  /** @type {any} */
  let saga = null;
  /** @type {any[]} */
  let history = [];
  /** @type {unknown} */
  let error = null;
  const body = h('div', { class: 'section-body' });
  const dialog = actionDialog(id, (updated) => {
    saga = updated;
    load();
  });

  const draw = () => {
    if (error) return replaceKeepingFocus(body, notConfigured(error) ? notConfiguredNotice() : errorNotice(error));
    if (!saga) return replaceKeepingFocus(body, h('p', { class: 'empty' }, 'Loading…'));
    const steps = summariseSteps(history);
    const start = history.length > 0 ? Math.min(...history.map((t) => t.at)) : saga.createdAt;
    const traceId = /^00-([0-9a-f]{32})-/.exec(String(saga.meta?.traceparent ?? ''))?.[1];
    replaceKeepingFocus(
      body,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Status'),
        h('dd', {}, badge(String(saga.status), sagaStatusTone(String(saga.status)))),
        h('dt', {}, 'Name'),
        h('dd', {}, String(saga.name)),
        h('dt', {}, 'Started'),
        h('dd', {}, formatTimestamp(saga.createdAt)),
        h('dt', {}, 'Updated'),
        h('dd', {}, formatTimestamp(saga.updatedAt)),
        traceId
          ? [
              h('dt', {}, 'Trace'),
              h('dd', {}, h('a', { href: `#/traces/${traceId}`, class: 'mono' }, shortId(traceId, 16))),
            ]
          : null,
        saga.error
          ? [
              h('dt', {}, 'Error'),
              h(
                'dd',
                { class: 'error-text' },
                h('strong', {}, String(saga.error.code)),
                ' ',
                String(saga.error.message),
              ),
            ]
          : null,
      ),
      saga.status === 'parked'
        ? h(
            'div',
            { class: 'actions', role: 'group', 'aria-label': 'Parked saga actions' },
            h(
              'p',
              {},
              `Parked while going ${saga.parkedDirection ?? 'forward'}. An operator decides what happens next.`,
            ),
            h('button', { type: 'button', 'data-focus-key': 'retry', onclick: () => dialog.open('retry') }, 'Retry…'),
            h(
              'button',
              { type: 'button', class: 'danger', 'data-focus-key': 'abort', onclick: () => dialog.open('abort') },
              'Abort…',
            ),
          )
        : null,
      h('h2', {}, 'Steps'),
      dataTable({
        caption: 'Steps and compensations',
        captionHidden: true,
        columns: [
          { label: 'Step' },
          { label: 'Forward' },
          { label: 'Attempts', numeric: true },
          { label: 'Compensation' },
        ],
        rows: steps.map((st) => [
          st.step,
          badge(st.forward, st.forward === 'done' ? 'ok' : st.forward === 'failed' ? 'bad' : 'active'),
          String(st.attempts),
          st.compensation === null
            ? h('span', { class: 'muted' }, 'not needed')
            : badge(
                `compensation ${st.compensation}`,
                st.compensation === 'done' ? 'warn' : st.compensation === 'failed' ? 'bad' : 'active',
              ),
        ]),
        empty: 'No step has started.',
      }),
      h('h2', {}, 'Timeline'),
      h(
        'ol',
        { class: 'timeline', 'aria-label': 'Saga history' },
        history.map((t) =>
          h(
            'li',
            {
              class: `${isCompensationKind(t.kind) ? 'compensation' : 'forward'}${t.error ? ' failed' : ''}`,
              'data-kind': t.kind,
            },
            h('span', { class: 'tl-time mono', title: formatTimestamp(t.at) }, `+${formatDuration(t.at - start)}`),
            h(
              'span',
              { class: 'tl-body' },
              h('strong', {}, transitionLabel(t.kind)),
              t.step ? [' ', h('span', { class: 'mono' }, String(t.step))] : null,
              t.attempt && t.attempt > 1 ? ` (attempt ${t.attempt})` : null,
              isCompensationKind(t.kind) ? h('span', { class: 'tag' }, 'compensation') : null,
              t.error ? h('span', { class: 'error-text block' }, `${t.error.code}: ${t.error.message}`) : null,
              t.reason ? h('span', { class: 'block muted' }, `Reason: ${t.reason}`) : null,
            ),
            h('span', { class: 'tl-clock muted mono' }, formatClock(t.at)),
          ),
        ),
      ),
    );
  };

  const load = async () => {
    try {
      const doc = await apiGet(`/admin/sagas/${encodeURIComponent(id)}`);
      saga = doc.saga;
      history = Array.isArray(doc.history) ? doc.history : [];
      error = null;
    } catch (err) {
      error = err;
    }
    draw();
  };

  const unsubscribe = store.subscribe(['saga', 'poll'], (value) => {
    const changed = /** @type {any} */ (value);
    if (changed && typeof changed === 'object' && 'id' in changed && changed.id !== id) return;
    load();
  });
  main.replaceChildren(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/sagas' }, 'Sagas'), ' / '),
    h('h1', { class: 'mono' }, id),
    h('section', { class: 'panel', 'aria-label': 'Saga' }, body),
    dialog.element,
  );
  draw();
  load();
  return unsubscribe;
}

/**
 * The retry / abort dialog: asks for a reason (required to abort), POSTs, and shows the API's
 * message when the action is refused.
 * @param {string} id
 * @param {(saga: any) => void} onDone
 */
function actionDialog(id, onDone) {
  /** @type {'retry' | 'abort'} */
  let action = 'retry';
  const title = h('h2', { id: 'action-title' }, '');
  const reason = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'action-reason', name: 'reason', rows: 3 }));
  const message = h('p', { class: 'dialog-error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Retry');
  const element = /** @type {HTMLDialogElement} */ (
    h(
      'dialog',
      { 'aria-labelledby': 'action-title' },
      h(
        'form',
        {
          onsubmit: async (/** @type {SubmitEvent} */ event) => {
            event.preventDefault();
            const text = reason.value.trim();
            if (action === 'abort' && text === '') {
              message.textContent = 'A reason is required to abort a saga.';
              reason.focus();
              return;
            }
            message.textContent = '';
            submit.setAttribute('disabled', '');
            try {
              const doc = await apiPost(
                `/admin/sagas/${encodeURIComponent(id)}/${action}`,
                text ? { reason: text } : {},
              );
              element.close();
              onDone(doc?.saga);
            } catch (err) {
              const e = /** @type {any} */ (err);
              message.textContent = `${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`;
            } finally {
              submit.removeAttribute('disabled');
            }
          },
        },
        title,
        h('label', { for: 'action-reason' }, 'Reason'),
        reason,
        message,
        h(
          'div',
          { class: 'dialog-buttons' },
          h('button', { type: 'button', class: 'secondary', onclick: () => element.close() }, 'Cancel'),
          submit,
        ),
      ),
    )
  );
  return {
    element,
    /** @param {'retry' | 'abort'} which */
    open(which) {
      action = which;
      title.textContent = which === 'retry' ? 'Retry this saga' : 'Abort this saga';
      submit.textContent = which === 'retry' ? 'Retry' : 'Abort';
      submit.className = which === 'abort' ? 'danger' : '';
      // Checked in the submit handler (not `required`) so the message is ours and announced.
      reason.setAttribute('aria-required', String(which === 'abort'));
      reason.placeholder =
        which === 'retry' ? 'Why (optional): who and what changed' : 'Why (required): who and what was done instead';
      reason.value = '';
      message.textContent = '';
      element.showModal();
      reason.focus();
    },
  };
}
