/**
 * SPIFFE IDs (`spiffe://<trust-domain>/<path>`, SPIFFE-ID specification §2) and the workload
 * identity a service or client presents over mutual TLS. Pure string logic and types: the
 * certificate authority lives in `@switchyard/mesh`, the TLS in `@switchyard/service` and
 * `@switchyard/client`; they meet here because neither of the last two may import `mesh`.
 */

/** A SPIFFE ID split into its parts. */
export interface SpiffeId {
  /** The trust domain, lowercase (`example.org`). */
  readonly trustDomain: string;
  /** The path, starting with `/`, or `""` for the trust domain's own ID. */
  readonly path: string;
  /** The whole ID, `spiffe://<trustDomain><path>`. */
  readonly text: string;
}

/** The outcome of {@link parseSpiffeId}: the ID, or why the text is not one. */
export type SpiffeIdResult =
  | { readonly ok: true; readonly id: SpiffeId }
  | { readonly ok: false; readonly reason: string };

const SCHEME = 'spiffe://';
/** SPIFFE-ID §2.1: lowercase letters, digits, dots, dashes and underscores. */
const trustDomainChars = /^[a-z0-9._-]+$/;
/** SPIFFE-ID §2.2: path segments of letters, digits, dots, dashes and underscores. */
const segmentChars = /^[a-zA-Z0-9._-]+$/;
/** SPIFFE-ID §2.3: URIs longer than this are not SPIFFE IDs. */
const MAX_ID_BYTES = 2048;
/** SPIFFE-ID §2.1: a trust domain is a DNS-like name of at most 255 characters. */
const MAX_TRUST_DOMAIN = 255;

/**
 * Checks a trust domain name: lowercase letters, digits, `.`, `-` and `_`, at most 255
 * characters (SPIFFE-ID §2.1).
 *
 * @returns `undefined` when valid, otherwise the reason
 * @example
 * ```ts
 * trustDomainProblem('example.org'); // undefined
 * trustDomainProblem('Example.org'); // 'the trust domain "Example.org" may only contain lowercase ...'
 * ```
 */
export function trustDomainProblem(trustDomain: string): string | undefined {
  if (trustDomain === '') return 'the trust domain is empty';
  if (trustDomain.length > MAX_TRUST_DOMAIN) return `the trust domain is longer than ${MAX_TRUST_DOMAIN} characters`;
  if (!trustDomainChars.test(trustDomain)) {
    return `the trust domain "${trustDomain}" may only contain lowercase letters, digits, ".", "-" and "_" (no port, no user info)`;
  }
  return undefined;
}

/**
 * Parses a SPIFFE ID: the `spiffe` scheme, a valid trust domain, and a path of non-empty
 * segments other than `.` and `..`, without a trailing `/`, a query or a fragment.
 *
 * @example
 * ```ts
 * parseSpiffeId('spiffe://example.org/ns/default/sa/orders');
 * // { ok: true, id: { trustDomain: 'example.org', path: '/ns/default/sa/orders', text: 'spiffe://example.org/ns/default/sa/orders' } }
 * parseSpiffeId('spiffe://example.org/ns//sa'); // { ok: false, reason: 'the path has an empty segment' }
 * ```
 */
export function parseSpiffeId(text: string): SpiffeIdResult {
  return parse(text, false);
}

/**
 * Whether `text` is a valid SPIFFE ID ({@link parseSpiffeId}).
 *
 * @example
 * ```ts
 * isSpiffeId('spiffe://example.org/ns/default/sa/orders'); // true
 * isSpiffeId('https://example.org/orders'); // false
 * ```
 */
export function isSpiffeId(text: string): boolean {
  return parse(text, false).ok;
}

/**
 * Checks a SPIFFE ID pattern: a SPIFFE ID in which a whole path segment may be `*`, matching
 * any one segment (`spiffe://example.org/ns/default/sa/*`, `spiffe://example.org/ns/*\/sa/gateway`).
 *
 * @returns `undefined` when valid, otherwise the reason
 * @example
 * ```ts
 * spiffePatternProblem('spiffe://example.org/ns/default/sa/*'); // undefined
 * spiffePatternProblem('spiffe://example.org/ns/def*'); // 'path segment "def*" may only contain ...'
 * ```
 */
export function spiffePatternProblem(pattern: string): string | undefined {
  const result = parse(pattern, true);
  return result.ok ? undefined : result.reason;
}

/**
 * Whether the SPIFFE ID `id` matches `pattern` (see {@link spiffePatternProblem}): the same
 * trust domain and as many segments, each equal or `*` in the pattern. An invalid ID or
 * pattern matches nothing.
 *
 * @example
 * ```ts
 * matchesSpiffePattern('spiffe://td/ns/default/sa/gateway', 'spiffe://td/ns/default/sa/*'); // true
 * matchesSpiffePattern('spiffe://td/ns/other/sa/gateway', 'spiffe://td/ns/default/sa/*'); // false
 * ```
 */
export function matchesSpiffePattern(id: string, pattern: string): boolean {
  const parsedId = parse(id, false);
  const parsedPattern = parse(pattern, true);
  if (!parsedId.ok || !parsedPattern.ok) return false;
  if (parsedId.id.trustDomain !== parsedPattern.id.trustDomain) return false;
  const have = parsedId.id.path.split('/');
  const want = parsedPattern.id.path.split('/');
  if (have.length !== want.length) return false;
  return want.every((segment, i) => segment === '*' || segment === have[i]);
}

/**
 * The SPIFFE ID of an X.509-SVID from the `subjectaltname` string Node gives for a peer
 * certificate (`DNS:localhost, URI:spiffe://td/ns/default/sa/orders, IP Address:127.0.0.1`).
 * An SVID carries exactly one URI SAN (X509-SVID §2); none, several, or an invalid ID give
 * `undefined`.
 *
 * @example
 * ```ts
 * spiffeIdOfSubjectAltName('DNS:localhost, URI:spiffe://td/ns/default/sa/orders'); // 'spiffe://td/ns/default/sa/orders'
 * ```
 */
export function spiffeIdOfSubjectAltName(subjectAltName: string | undefined): string | undefined {
  if (subjectAltName === undefined || subjectAltName === '') return undefined;
  const uris = subjectAltName
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice('URI:'.length));
  if (uris.length !== 1) return undefined;
  const uri = uris[0] as string;
  return isSpiffeId(uri) ? uri : undefined;
}

/** A workload's current X.509-SVID: its certificate, key and the CA bundle it trusts, all PEM. */
export interface WorkloadIdentity {
  /** The workload's certificate (leaf first, then any intermediates), PEM. */
  readonly certPem: string;
  /** The certificate's private key, PKCS #8 PEM. */
  readonly keyPem: string;
  /** The CA certificates peers must chain to, PEM. */
  readonly caPem: string;
  /** The SPIFFE ID in the certificate's URI SAN. */
  readonly spiffeId: string;
  /** When the certificate expires (ms since the epoch). */
  readonly notAfter: number;
}

/** Returned by {@link WorkloadIdentitySource.onRotate}: stops the notifications. */
export interface IdentitySubscription {
  dispose(): void;
  [Symbol.dispose](): void;
}

/**
 * Where a server or client gets its workload identity: `current()` is read when TLS is set up,
 * and `onRotate` listeners run after every renewal so that new connections use the new
 * certificate. `workloadIdentity()` of `@switchyard/mesh` and `identityFromFiles()` of `@switchyard/service` make one;
 * `@switchyard/service` and `@switchyard/client` take one. A type only: any object of this
 * shape (say, one fed by a SPIRE agent) works.
 *
 * @example
 * ```ts
 * const source: WorkloadIdentitySource = {
 *   current: () => identity,
 *   onRotate: () => ({ dispose() {}, [Symbol.dispose]() {} }),
 * };
 * ```
 */
export interface WorkloadIdentitySource {
  /** The identity to use now. */
  current(): WorkloadIdentity;
  /** Calls `listener` with each new identity, after `current()` has started returning it. */
  onRotate(listener: (identity: WorkloadIdentity) => void): IdentitySubscription;
}

function parse(text: string, pattern: boolean): SpiffeIdResult {
  if (typeof text !== 'string') return { ok: false, reason: 'expected a string' };
  if (text.length > MAX_ID_BYTES) return { ok: false, reason: `longer than ${MAX_ID_BYTES} bytes` };
  if (!text.toLowerCase().startsWith(SCHEME)) return { ok: false, reason: `expected the "spiffe://" scheme` };
  if (!text.startsWith(SCHEME)) return { ok: false, reason: 'the scheme must be lowercase "spiffe://"' };
  const rest = text.slice(SCHEME.length);
  if (rest.includes('?') || rest.includes('#')) return { ok: false, reason: 'a SPIFFE ID has no query or fragment' };
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem !== undefined) return { ok: false, reason: tdProblem };
  if (path !== '') {
    if (path.endsWith('/')) return { ok: false, reason: 'the path ends with "/"' };
    for (const segment of path.slice(1).split('/')) {
      if (segment === '') return { ok: false, reason: 'the path has an empty segment' };
      if (segment === '.' || segment === '..') return { ok: false, reason: `the path has a "${segment}" segment` };
      if (pattern && segment === '*') continue;
      if (!segmentChars.test(segment)) {
        return {
          ok: false,
          reason: `path segment "${segment}" may only contain letters, digits, ".", "-" and "_"${pattern ? ' (or be "*")' : ''}`,
        };
      }
    }
  }
  return { ok: true, id: { trustDomain, path, text } };
}
