/**
 * Path templates of aggregate calls: literal text with `{...}` references to the route's
 * parameters (`{params.id}`), the incoming query (`{query.page}`) or a field of an earlier
 * call's JSON body (`{user.customerId}`, `{user.addresses.0.city}`).
 */

/** Where a reference reads from: the route parameters, the incoming query, or a call's body. */
export type TemplateSource = 'params' | 'query' | 'call';

/** One `{...}` reference of a template. */
export interface TemplateRef {
  /** The reference as written, braces included: `{user.customerId}`. */
  readonly text: string;
  readonly source: TemplateSource;
  /** The parameter, query name or call name. */
  readonly name: string;
  /** For a call reference, the field path inside its body (`['addresses', '0', 'city']`); else empty. */
  readonly field: readonly string[];
}

/** A parsed template: literal strings and references, in order. */
export interface Template {
  readonly text: string;
  readonly parts: readonly (string | TemplateRef)[];
  readonly refs: readonly TemplateRef[];
}

/** The result of {@link parseTemplate}. */
export type TemplateResult =
  | { readonly ok: true; readonly template: Template }
  | { readonly ok: false; readonly message: string };

// Names start with a letter or "_"; field segments may also be array indexes ("0").
const segment = /^[A-Za-z0-9_-]+$/;
const rootName = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Parses a call path template. Braces are reserved: a literal `{` or `}` must be
 * percent-encoded (`%7B`, `%7D`).
 *
 * @example
 * ```ts
 * const parsed = parseTemplate('/orders?customer={user.id}');
 * if (parsed.ok) parsed.template.refs[0]; // { text: '{user.id}', source: 'call', name: 'user', field: ['id'] }
 * ```
 */
export function parseTemplate(text: string): TemplateResult {
  const parts: (string | TemplateRef)[] = [];
  const refs: TemplateRef[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('{', at);
    const close = text.indexOf('}', at);
    if (close !== -1 && (open === -1 || close < open)) {
      return fail(`unmatched "}" at position ${close} of ${JSON.stringify(text)} (a literal "}" is written %7D)`);
    }
    if (open === -1) {
      parts.push(text.slice(at));
      break;
    }
    if (open > at) parts.push(text.slice(at, open));
    if (close === -1) {
      return fail(`unclosed "{" at position ${open} of ${JSON.stringify(text)} (a literal "{" is written %7B)`);
    }
    const inner = text.slice(open + 1, close);
    const ref = parseRef(inner);
    if (typeof ref === 'string') return fail(`${JSON.stringify(`{${inner}}`)}: ${ref}`);
    parts.push(ref);
    refs.push(ref);
    at = close + 1;
  }
  return { ok: true, template: { text, parts, refs } };
}

function parseRef(inner: string): TemplateRef | string {
  const text = `{${inner}}`;
  if (inner.includes('{')) return 'references do not nest';
  const [root = '', ...field] = inner.split('.');
  if (!rootName.test(root)) {
    return 'expected {params.<name>}, {query.<name>} or {<call>.<field>}, where a name starts with a letter or "_"';
  }
  const bad = field.find((s) => !segment.test(s));
  if (bad !== undefined) return `field segment ${JSON.stringify(bad)} must be letters, digits, "_" or "-"`;
  if (root === 'params' || root === 'query') {
    if (field.length !== 1) return `expected exactly one name after "${root}.", as in {${root}.id}`;
    return { text, source: root, name: field[0] as string, field: [] };
  }
  if (field.length === 0) return `expected a field of call "${root}", as in {${root}.id}`;
  return { text, source: 'call', name: root, field };
}

function fail(message: string): TemplateResult {
  return { ok: false, message };
}

/** What a template is rendered with. */
export interface TemplateScope {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed bodies of the calls done so far, by name. */
  readonly calls: ReadonlyMap<string, unknown>;
}

/** The result of {@link renderTemplate}: the text, or why a reference has no value. */
export type RenderResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly message: string };

/**
 * Renders `template`, percent-encoding every inserted value (`encodeURIComponent`), so a value
 * can never add a path segment or a query parameter. A missing query parameter inserts an
 * empty string; a call field that is absent, `null`, an object or an array fails the render.
 *
 * @example
 * ```ts
 * const parsed = parseTemplate('/users/{params.id}/orders?status={query.status}');
 * if (parsed.ok) renderTemplate(parsed.template, { params: { id: 'a/b' }, query: new URLSearchParams('status=open'), calls: new Map() });
 * // { ok: true, value: '/users/a%2Fb/orders?status=open' }
 * ```
 */
export function renderTemplate(template: Template, scope: TemplateScope): RenderResult {
  let value = '';
  for (const part of template.parts) {
    if (typeof part === 'string') {
      value += part;
      continue;
    }
    const found = lookup(part, scope);
    if ('missing' in found) return { ok: false, message: `${part.text}: ${found.missing}` };
    value += encodeURIComponent(found.value);
  }
  return { ok: true, value };
}

/** The value to insert, or why there is none. */
function lookup(ref: TemplateRef, scope: TemplateScope): { value: string } | { missing: string } {
  switch (ref.source) {
    case 'params': {
      const value = scope.params[ref.name];
      return value === undefined ? { missing: `the route has no parameter "${ref.name}"` } : { value };
    }
    case 'query':
      return { value: scope.query.get(ref.name) ?? '' };
    case 'call': {
      if (!scope.calls.has(ref.name)) return { missing: `call "${ref.name}" has no result` };
      let current: unknown = scope.calls.get(ref.name);
      for (const [index, key] of ref.field.entries()) {
        const where = ref.field.slice(0, index + 1).join('.');
        if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) {
          return { missing: `the body of call "${ref.name}" has no field "${where}"` };
        }
        current = (current as Record<string, unknown>)[key];
      }
      if (typeof current === 'string') return { value: current };
      if (typeof current === 'number' || typeof current === 'boolean') return { value: String(current) };
      const kind = current === null ? 'null' : Array.isArray(current) ? 'an array' : 'an object';
      return {
        missing: `field "${ref.field.join('.')}" of call "${ref.name}" is ${kind}, not a string, number or boolean`,
      };
    }
  }
}
