// Small DOM helpers. Every string from the API reaches the page as a text node or an
// attribute value set through the DOM, never as markup.

const svgNs = 'http://www.w3.org/2000/svg';

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, unknown>} Props
 */

/**
 * @param {Element} el
 * @param {Props} props
 */
function applyProps(el, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    } else if (key === 'class') {
      el.setAttribute('class', String(value));
    } else if (key === 'style' && typeof value === 'object') {
      for (const [prop, v] of Object.entries(/** @type {Record<string, string>} */ (value))) {
        /** @type {HTMLElement} */ (el).style.setProperty(prop, v);
      }
    } else if (key === 'value' && 'value' in el) {
      /** @type {HTMLInputElement} */ (el).value = String(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

/** @param {Element} el @param {Child[]} children */
function append(el, children) {
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/**
 * Creates an HTML element: `h('a', { href: '#/sagas' }, 'Sagas')`.
 * @param {string} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, /** @type {Child[]} */ (children));
  return el;
}

/**
 * Creates an SVG element.
 * @param {string} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {SVGElement}
 */
export function s(tag, props = {}, ...children) {
  const el = document.createElementNS(svgNs, tag);
  applyProps(el, props);
  append(el, /** @type {Child[]} */ (children));
  return /** @type {SVGElement} */ (el);
}

/**
 * Replaces `el`'s children, keeping keyboard focus on the element with the same
 * `data-focus-key` if one had it, so live updates do not throw the user's place away.
 * @param {Element} el
 * @param {...(Child | Child[])} children
 */
export function replaceKeepingFocus(el, ...children) {
  const active = document.activeElement;
  const key = active && el.contains(active) ? active.getAttribute('data-focus-key') : null;
  el.replaceChildren();
  append(el, /** @type {Child[]} */ (children));
  if (key !== null) {
    const again = [...el.querySelectorAll('[data-focus-key]')].find((n) => n.getAttribute('data-focus-key') === key);
    if (again instanceof HTMLElement) again.focus({ preventScroll: true });
  }
}

/**
 * A status pill: coloured dot plus the word, so the state never rests on colour alone.
 * @param {string} text
 * @param {string} tone
 */
export function badge(text, tone) {
  return h('span', { class: `badge tone-${tone}` }, text);
}

/**
 * @typedef {{ label: string, numeric?: boolean, className?: string }} Column
 */

/**
 * A data table with a caption and column headers.
 * @param {{ caption: string, columns: Column[], rows: Child[][], empty?: string, captionHidden?: boolean,
 *   rowProps?: (index: number) => Props }} spec
 */
export function dataTable(spec) {
  if (spec.rows.length === 0) return h('p', { class: 'empty' }, spec.empty ?? 'Nothing to show.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: spec.captionHidden ? 'visually-hidden' : undefined }, spec.caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          spec.columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : c.className }, c.label)),
        ),
      ),
      h(
        'tbody',
        {},
        spec.rows.map((cells, i) =>
          h(
            'tr',
            spec.rowProps ? spec.rowProps(i) : {},
            cells.map((cell, j) => {
              const col = spec.columns[j];
              return j === 0
                ? h('th', { scope: 'row', class: col?.numeric ? 'num' : col?.className }, cell)
                : h('td', { class: col?.numeric ? 'num' : col?.className }, cell);
            }),
          ),
        ),
      ),
    ),
  );
}

/**
 * A message that a section cannot show its data, with the API's code.
 * @param {unknown} err
 */
export function errorNotice(err) {
  const e = /** @type {{ code?: string, message?: string }} */ (err ?? {});
  return h(
    'p',
    { class: 'notice tone-bad', role: 'alert' },
    h('strong', {}, e.code ?? 'Error'),
    ' ',
    e.message ?? String(err),
  );
}
