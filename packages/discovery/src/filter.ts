/**
 * Consul's filter language (https://developer.hashicorp.com/consul/api-docs/features/filtering),
 * the subset the registry's read endpoints take as `?filter=`:
 *
 * - `Selector == "value"`, `!=`; `Selector is empty`, `is not empty`;
 * - `"value" in Selector`, `not in`; `Selector contains "value"`, `not contains`;
 * - `Selector matches "regex"`, `not matches`;
 * - `and`, `or`, `not`, parentheses; values quoted with `"` or backticks, numbers and booleans bare.
 *
 * Selectors are dotted paths (`Service.Meta.version`, also `Service.Meta["version"]`) checked against
 * the endpoint's shape, so a typo fails with 400 instead of silently matching nothing. A selector
 * that passes through a list (`Checks.Status`) matches when any element does, and `!=` is the
 * negation of `==` (no element equal).
 */
import { discoveryError } from './errors.ts';

/** The shape a filter runs against: one per kind of endpoint. */
export const FilterTarget = {
  /** Entries of `GET /v1/health/service/:name`: `Node`, `Service`, `Checks`. */
  HealthService: 'healthService',
  /** Entries of `GET /v1/catalog/service/:name`: `ServiceName`, `ServiceTags`, `ServicePort`, ... */
  CatalogService: 'catalogService',
  /** Values of `GET /v1/agent/services`: `Service`, `Tags`, `Meta`, `Port`, ... */
  AgentService: 'agentService',
  /** Checks of `/v1/agent/checks`, `/v1/health/checks/:name`, `/v1/health/state/:state`. */
  HealthCheck: 'healthCheck',
} as const;
export type FilterTarget = (typeof FilterTarget)[keyof typeof FilterTarget];

/** A compiled filter expression. */
export interface Filter {
  /** The expression as given. */
  readonly expression: string;
  /** True when `value` (one entry of the endpoint's answer) matches. */
  matches(value: unknown): boolean;
}

type Leaf = 'string' | 'number' | 'boolean' | 'strings' | 'map';
interface ObjectShape {
  readonly [field: string]: Shape;
}
interface ListShape {
  readonly list: ObjectShape;
}
type Shape = Leaf | ObjectShape | ListShape;

const weights: ObjectShape = { Passing: 'number', Warning: 'number' };
const nodeShape: ObjectShape = {
  ID: 'string',
  Node: 'string',
  Address: 'string',
  Datacenter: 'string',
  TaggedAddresses: 'map',
  Meta: 'map',
};
const serviceShape: ObjectShape = {
  ID: 'string',
  Service: 'string',
  Tags: 'strings',
  Address: 'string',
  Port: 'number',
  Meta: 'map',
  Weights: weights,
};
const checkShape: ObjectShape = {
  Node: 'string',
  CheckID: 'string',
  Name: 'string',
  Status: 'string',
  Notes: 'string',
  Output: 'string',
  ServiceID: 'string',
  ServiceName: 'string',
  ServiceTags: 'strings',
  Type: 'string',
  Interval: 'string',
  Timeout: 'string',
};
const shapes: Record<FilterTarget, ObjectShape> = {
  healthService: { Node: nodeShape, Service: serviceShape, Checks: { list: checkShape } },
  catalogService: {
    ID: 'string',
    Node: 'string',
    Address: 'string',
    Datacenter: 'string',
    TaggedAddresses: 'map',
    NodeMeta: 'map',
    ServiceID: 'string',
    ServiceName: 'string',
    ServiceTags: 'strings',
    ServiceAddress: 'string',
    ServicePort: 'number',
    ServiceMeta: 'map',
    ServiceWeights: weights,
  },
  agentService: { ...serviceShape, Datacenter: 'string' },
  healthCheck: checkShape,
};

type TokenKind = 'ident' | 'string' | 'number' | 'op' | '(' | ')' | '[' | ']' | 'end';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly offset: number;
}

type Node =
  | { readonly kind: 'and' | 'or'; readonly left: Node; readonly right: Node }
  | { readonly kind: 'not'; readonly operand: Node }
  | { readonly kind: 'match'; readonly test: (root: unknown) => boolean };

/** The selector's resolved field type, and how to read it from an entry. */
interface Selector {
  readonly text: string;
  readonly leaf: Leaf | 'list' | 'object';
  /** Every value the path reaches (several when it crosses a list). */
  readonly read: (root: unknown) => unknown[];
}

/**
 * Compiles `expression` for the entries of `target`.
 *
 * @throws SwitchyardError `SY_DISCOVERY_INVALID_FILTER` with the position as `line:column (offset)`
 *   for a syntax error, and for an unknown selector or a value of the wrong type
 * @example
 * ```ts
 * const filter = compileFilter('Service.Meta.version == "2" and "v1" in Service.Tags', FilterTarget.HealthService);
 * entries.filter((entry) => filter.matches(entry));
 * ```
 */
export function compileFilter(expression: string, target: FilterTarget): Filter {
  const tokens = tokenize(expression);
  let at = 0;
  const peek = (ahead = 0): Token => tokens[Math.min(at + ahead, tokens.length - 1)] as Token;
  const next = (): Token => {
    const token = peek();
    if (at < tokens.length - 1) at++;
    return token;
  };
  const isWord = (token: Token, word: string) => token.kind === 'ident' && token.text === word;
  const fail = (token: Token, message: string): never => {
    throw filterError(expression, token.offset, message);
  };
  const describe = (token: Token) => (token.kind === 'end' ? 'end of input' : JSON.stringify(token.text));

  function parseOr(): Node {
    let left = parseAnd();
    while (isWord(peek(), 'or')) {
      next();
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  }

  function parseAnd(): Node {
    let left = parseUnary();
    while (isWord(peek(), 'and')) {
      next();
      left = { kind: 'and', left, right: parseUnary() };
    }
    return left;
  }

  function parseUnary(): Node {
    if (isWord(peek(), 'not')) {
      next();
      return { kind: 'not', operand: parseUnary() };
    }
    if (peek().kind === '(') {
      next();
      const inner = parseOr();
      const close = next();
      if (close.kind !== ')') fail(close, `expected ")" or an operator, got ${describe(close)}`);
      return inner;
    }
    return parseMatch();
  }

  function parseValue(): { text: string; token: Token } {
    const token = next();
    if (token.kind === 'string' || token.kind === 'number') return { text: token.text, token };
    if (token.kind === 'ident' && !keywords.has(token.text)) return { text: token.text, token };
    return fail(token, `expected a value (a quoted string or a number), got ${describe(token)}`);
  }

  function parseSelector(): Selector {
    const first = next();
    if (first.kind !== 'ident' || keywords.has(first.text)) {
      fail(first, `expected a selector such as Service.Tags, got ${describe(first)}`);
    }
    const path = first.text.split('.');
    if (path.some((part) => part === '')) fail(first, `malformed selector ${JSON.stringify(first.text)}`);
    // Index syntax for keys that are not identifiers: Service.Meta["build-id"].
    while (peek().kind === '[') {
      next();
      const key = next();
      if (key.kind !== 'string') fail(key, `expected a quoted key after "[", got ${describe(key)}`);
      const close = next();
      if (close.kind !== ']') fail(close, `expected "]", got ${describe(close)}`);
      path.push(key.text);
    }
    return resolveSelector(expression, first.offset, path, shapes[target]);
  }

  function parseMatch(): Node {
    const start = peek();
    // `"v1" in Service.Tags`, or with a bare word: `v1 in Service.Tags`.
    const valueFirst =
      start.kind === 'string' ||
      start.kind === 'number' ||
      (start.kind === 'ident' && (isWord(peek(1), 'in') || (isWord(peek(1), 'not') && isWord(peek(2), 'in'))));
    if (valueFirst) {
      const value = parseValue();
      let negate = false;
      if (isWord(peek(), 'not')) {
        next();
        negate = true;
      }
      const op = next();
      if (!isWord(op, 'in')) fail(op, `expected "in" or "not in" after a value, got ${describe(op)}`);
      const selector = parseSelector();
      const test = containsTest(selector, value.text, expression, value.token.offset);
      return match(negate, test);
    }
    const selector = parseSelector();
    const op = next();
    if (op.kind === 'op') {
      const value = parseValue();
      const test = equalsTest(selector, value.text, expression, value.token.offset, op.offset);
      return match(op.text === '!=', test);
    }
    if (isWord(op, 'is')) {
      let negate = false;
      if (isWord(peek(), 'not')) {
        next();
        negate = true;
      }
      const empty = next();
      if (!isWord(empty, 'empty')) fail(empty, `expected "empty" after "is", got ${describe(empty)}`);
      return match(negate, emptyTest(selector));
    }
    let negate = false;
    let verb = op;
    if (isWord(op, 'not')) {
      negate = true;
      verb = next();
    }
    if (isWord(verb, 'contains')) {
      const value = parseValue();
      return match(negate, containsTest(selector, value.text, expression, value.token.offset));
    }
    if (isWord(verb, 'matches')) {
      const value = parseValue();
      return match(negate, matchesTest(selector, value.text, expression, value.token.offset));
    }
    if (isWord(verb, 'in') && negate) {
      return fail(verb, '"not in" takes the value first: "value" not in Selector');
    }
    return fail(
      verb,
      `expected one of "==", "!=", "is empty", "is not empty", "contains", "not contains", "matches", "not matches" after ${selector.text}, got ${describe(verb)}`,
    );
  }

  if (expression.trim() === '') throw filterError(expression, 0, 'the filter expression is empty');
  const root = parseOr();
  const end = peek();
  if (end.kind !== 'end') fail(end, `expected "and", "or" or the end of the expression, got ${describe(end)}`);
  return Object.freeze({ expression, matches: (value: unknown) => evaluate(root, value) });
}

const keywords = new Set(['and', 'or', 'not', 'in', 'is', 'empty', 'contains', 'matches']);

function match(negate: boolean, test: (root: unknown) => boolean): Node {
  const node: Node = { kind: 'match', test };
  return negate ? { kind: 'not', operand: node } : node;
}

function evaluate(node: Node, value: unknown): boolean {
  switch (node.kind) {
    case 'and':
      return evaluate(node.left, value) && evaluate(node.right, value);
    case 'or':
      return evaluate(node.left, value) || evaluate(node.right, value);
    case 'not':
      return !evaluate(node.operand, value);
    default:
      return node.test(value);
  }
}

function resolveSelector(expression: string, offset: number, path: readonly string[], root: ObjectShape): Selector {
  const text = path.join('.');
  let shape: Shape = root;
  // Readers applied in order; each maps every current value to zero or more values.
  const steps: ((value: unknown) => unknown[])[] = [];
  for (let i = 0; i < path.length; i++) {
    const part = path[i] as string;
    if (typeof shape === 'string') {
      if (shape !== 'map' || i !== path.length - 1) {
        throw filterError(expression, offset, `Selector ${JSON.stringify(text)} is not valid`);
      }
      steps.push((value) => [isRecord(value) ? value[part] : undefined]);
      shape = 'string';
      continue;
    }
    const crossesList = isList(shape);
    const fields: ObjectShape = isList(shape) ? shape.list : shape;
    const child = Object.hasOwn(fields, part) ? fields[part] : undefined;
    if (child === undefined) throw filterError(expression, offset, `Selector ${JSON.stringify(text)} is not valid`);
    steps.push((value) => {
      const items = crossesList ? (Array.isArray(value) ? value : []) : [value];
      return items.map((item) => (isRecord(item) ? item[part] : undefined));
    });
    shape = child;
  }
  const leaf: Selector['leaf'] = typeof shape === 'string' ? shape : isList(shape) ? 'list' : 'object';
  return {
    text,
    leaf,
    read: (root) => {
      let values: unknown[] = [root];
      for (const step of steps) values = values.flatMap(step);
      return values;
    },
  };
}

function coerce(selector: Selector, raw: string, expression: string, offset: number): string | number | boolean {
  if (selector.leaf === 'number') {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) {
      throw filterError(expression, offset, `${selector.text} is a number, got ${JSON.stringify(raw)}`);
    }
    return value;
  }
  if (selector.leaf === 'boolean') {
    if (raw !== 'true' && raw !== 'false') {
      throw filterError(expression, offset, `${selector.text} is a boolean, got ${JSON.stringify(raw)}`);
    }
    return raw === 'true';
  }
  return raw;
}

function equalsTest(
  selector: Selector,
  raw: string,
  expression: string,
  valueOffset: number,
  opOffset: number,
): (root: unknown) => boolean {
  if (selector.leaf !== 'string' && selector.leaf !== 'number' && selector.leaf !== 'boolean') {
    throw filterError(
      expression,
      opOffset,
      `${selector.text} is a collection; use "in", "contains" or "is empty" instead of "==" or "!="`,
    );
  }
  const value = coerce(selector, raw, expression, valueOffset);
  return (root) => selector.read(root).some((found) => found === value);
}

function containsTest(selector: Selector, raw: string, expression: string, offset: number): (root: unknown) => boolean {
  if (selector.leaf === 'object' || selector.leaf === 'list') {
    throw filterError(expression, offset, `${selector.text} cannot hold a value; select one of its fields`);
  }
  if (selector.leaf === 'number' || selector.leaf === 'boolean') {
    const value = coerce(selector, raw, expression, offset);
    return (root) => selector.read(root).some((found) => found === value);
  }
  return (root) =>
    selector.read(root).some((found) => {
      if (Array.isArray(found)) return found.includes(raw);
      if (typeof found === 'string') return selector.leaf === 'string' ? found.includes(raw) : found === raw;
      if (isRecord(found)) return Object.hasOwn(found, raw);
      return false;
    });
}

function matchesTest(selector: Selector, raw: string, expression: string, offset: number): (root: unknown) => boolean {
  if (selector.leaf !== 'string' && selector.leaf !== 'strings') {
    throw filterError(expression, offset, `"matches" needs a string selector; ${selector.text} is not one`);
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(raw, 'u');
  } catch (err) {
    throw filterError(expression, offset, `invalid regular expression: ${(err as Error).message}`);
  }
  return (root) =>
    selector
      .read(root)
      .some((found) =>
        Array.isArray(found)
          ? found.some((item) => typeof item === 'string' && pattern.test(item))
          : typeof found === 'string' && pattern.test(found),
      );
}

function emptyTest(selector: Selector): (root: unknown) => boolean {
  return (root) => {
    const values = selector.read(root);
    if (selector.leaf === 'list' && values.length === 1) return !Array.isArray(values[0]) || values[0].length === 0;
    return values.every((found) => {
      if (found === undefined || found === null || found === '') return true;
      if (Array.isArray(found)) return found.length === 0;
      if (isRecord(found)) return Object.keys(found).length === 0;
      return false;
    });
  };
}

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const ch = expression[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const offset = i;
    if (ch === '(' || ch === ')' || ch === '[' || ch === ']') {
      tokens.push({ kind: ch, text: ch, offset });
      i++;
      continue;
    }
    if ((ch === '=' || ch === '!') && expression[i + 1] === '=') {
      tokens.push({ kind: 'op', text: `${ch}=`, offset });
      i += 2;
      continue;
    }
    if (ch === '"' || ch === '`') {
      let text = '';
      i++;
      while (i < expression.length && expression[i] !== ch) {
        // Backtick strings are raw, as in Go; double-quoted ones take backslash escapes.
        if (ch === '"' && expression[i] === '\\' && i + 1 < expression.length) {
          const escaped = expression[i + 1] as string;
          text += escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped;
          i += 2;
          continue;
        }
        text += expression[i];
        i++;
      }
      if (i >= expression.length) throw filterError(expression, offset, 'unterminated string');
      i++;
      tokens.push({ kind: 'string', text, offset });
      continue;
    }
    const number = /^-?\d+(?:\.\d+)?(?![\w.])/.exec(expression.slice(i));
    if (number) {
      tokens.push({ kind: 'number', text: number[0], offset });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][\w\-/]*(?:\.[\w\-/]+)*/.exec(expression.slice(i));
    if (word) {
      tokens.push({ kind: 'ident', text: word[0], offset });
      i += word[0].length;
      continue;
    }
    throw filterError(expression, offset, `unexpected character ${JSON.stringify(ch)}`);
  }
  tokens.push({ kind: 'end', text: '', offset: expression.length });
  return tokens;
}

/** Consul's error form: `Failed to create boolean expression evaluator: 1:11 (10): ...`. */
function filterError(expression: string, offset: number, message: string): Error {
  const before = expression.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return discoveryError(
    'SY_DISCOVERY_INVALID_FILTER',
    `Failed to create boolean expression evaluator: ${line}:${column} (${offset}): ${message}`,
    { details: { expression, offset, line, column } },
  );
}

function isList(shape: ObjectShape | ListShape): shape is ListShape {
  // No object shape has a field called "list", so the key alone tells them apart.
  return Object.hasOwn(shape, 'list') && typeof (shape as ListShape).list === 'object';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
