import { gatewayError } from './errors.ts';

/** A request target split into its normalised path and its untouched query. */
export interface NormalizedTarget {
  /** Normalised path: starts with `/`, no `.`/`..` or empty segments, unreserved characters decoded. */
  readonly path: string;
  /** The query string including its leading `?`, byte for byte as received; `''` when absent. */
  readonly query: string;
}

const hex = /^[0-9A-Fa-f]{2}$/;

/**
 * Normalises a request target before routing, so no request reaches a route or an upstream path
 * that its prefix does not allow. Steps, in order:
 *
 * 1. accept origin-form (`/a?b`) and absolute-form (`http://host/a?b`, RFC 9112 §3.2.2);
 * 2. split off the query, which is kept untouched;
 * 3. per segment, decode percent-encoded unreserved characters (RFC 3986 §6.2.2.2) and upper-case
 *    the hex of the rest (§6.2.2.1);
 * 4. collapse empty segments (`//`), keeping one trailing slash;
 * 5. remove `.` and `..` segments (RFC 3986 §5.2.4).
 *
 * It rejects, instead of repairing, what a backend might read differently from the router:
 * `%2F` and `%5C` (an upstream that decodes them sees other segments), `\` (some servers treat
 * it as `/`), `.`/`..` segments spelled with `%2E`, invalid percent-encoding, NUL and other
 * control characters, a fragment, and `..` that climbs above the root.
 *
 * @throws SwitchyardError `SY_GATEWAY_BAD_PATH` (rendered as 400) saying what is wrong
 * @example
 * ```ts
 * normalizeRequestTarget('/api//orders/./12/../13?x=%2F'); // { path: '/api/orders/13', query: '?x=%2F' }
 * normalizeRequestTarget('/api/orders/%2e%2e/admin'); // throws SY_GATEWAY_BAD_PATH
 * ```
 */
export function normalizeRequestTarget(target: string): NormalizedTarget {
  const queryAt = target.indexOf('?');
  let path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (!path.startsWith('/')) path = absoluteFormPath(path, target);

  const parts = path.slice(1).split('/');
  const out: string[] = [];
  let trailingSlash = false;
  for (const [index, raw] of parts.entries()) {
    const last = index === parts.length - 1;
    if (raw === '') {
      // Empty segments come from `//` (collapsed) or from a trailing slash (kept: `/a/` and `/a`
      // may be different resources upstream).
      if (last) trailingSlash = true;
      continue;
    }
    const { text, encodedDot } = normalizeSegment(raw, target);
    if (text === '.' || text === '..') {
      if (encodedDot) throw badPath(target, 'a "." or ".." segment written with %2E is not allowed');
      if (text === '..') {
        if (out.length === 0) throw badPath(target, 'the path climbs above the root with ".."');
        out.pop();
      }
      // RFC 3986 §5.2.4: a path ending in a dot segment ends in "/" (`/a/b/..` → `/a/`).
      if (last) trailingSlash = true;
      continue;
    }
    out.push(text);
    trailingSlash = false;
  }
  if (out.length === 0) return { path: '/', query };
  return { path: `/${out.join('/')}${trailingSlash ? '/' : ''}`, query };
}

function normalizeSegment(raw: string, target: string): { text: string; encodedDot: boolean } {
  let text = '';
  let encodedDot = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch === 0x25 /* % */) {
      const pair = raw.slice(i + 1, i + 3);
      if (!hex.test(pair)) throw badPath(target, `invalid percent-encoding ${JSON.stringify(raw.slice(i, i + 3))}`);
      const byte = Number.parseInt(pair, 16);
      if (byte === 0x2f) throw badPath(target, 'an encoded slash (%2F) is not allowed');
      if (byte === 0x5c) throw badPath(target, 'an encoded backslash (%5C) is not allowed');
      if (byte < 0x20 || byte === 0x7f) throw badPath(target, `an encoded control character (%${pair}) is not allowed`);
      if (isUnreserved(byte)) {
        text += String.fromCharCode(byte);
        if (byte === 0x2e) encodedDot = true;
      } else text += `%${pair.toUpperCase()}`;
      i += 2;
      continue;
    }
    if (ch === 0x5c /* \ */) throw badPath(target, 'a backslash is not allowed');
    if (ch === 0x23 /* # */) throw badPath(target, 'a fragment ("#") is not allowed');
    if (ch <= 0x20 || ch === 0x7f) throw badPath(target, 'control characters and spaces are not allowed');
    text += raw[i];
  }
  return { text, encodedDot };
}

/** RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

function absoluteFormPath(path: string, target: string): string {
  const scheme = /^https?:\/\/[^/]*/i.exec(path);
  if (scheme === null) throw badPath(target, 'the request target must start with "/"');
  const rest = path.slice(scheme[0].length);
  return rest === '' ? '/' : rest;
}

function badPath(target: string, reason: string): Error {
  const shown = target.length > 200 ? `${target.slice(0, 200)}…` : target;
  return gatewayError('SY_GATEWAY_BAD_PATH', `bad request path ${JSON.stringify(shown)}: ${reason}`, {
    details: { target: shown },
  });
}
