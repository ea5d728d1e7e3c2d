/**
 * One state-of-the-world ADS stream (Envoy's xDS protocol, "ACK/NACK and resource type instance
 * version"): per type URL it keeps the subscribed names, the version and nonce last sent, and the
 * version the client last rejected. No I/O: requests come in through `onRequest`, responses leave
 * through `send`, so the protocol rules are unit-tested without sockets.
 *
 * - A request whose `response_nonce` is not the last one sent for its type is stale (the client
 *   has not seen the newest response yet) and is ignored, as go-control-plane does.
 * - A request with the last nonce and no `error_detail` is an ACK of that response's version.
 * - With `error_detail` it is a NACK: reported once, and that version is never sent to this
 *   stream again; the next version is pushed when the resources change.
 * - The first request of a type, and any request that changes the subscribed names, is answered
 *   with the current resources.
 */
import type { AnyMessage } from './resources.ts';
import type { SnapshotCache } from './snapshot-cache.ts';
import { isXdsTypeUrl, type XdsEvent, type XdsNode, type XdsTypeUrl, xdsTypeUrls } from './types.ts';

/** The fields of a DiscoveryRequest the server reads. */
export interface AdsRequest {
  readonly version_info: string;
  readonly node?: { id?: string; cluster?: string; user_agent_name?: string; user_agent_version?: string } | null;
  readonly resource_names: readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail?: { code?: number; message?: string } | null;
}

/** A DiscoveryResponse as the server sends it. */
export interface AdsResponse {
  readonly version_info: string;
  readonly resources: readonly AnyMessage[];
  readonly type_url: XdsTypeUrl;
  readonly nonce: string;
}

/** What a stream needs from the server around it. */
export interface AdsStreamContext {
  readonly id: number;
  readonly cache: SnapshotCache;
  /** Unique, increasing nonces shared by every stream of the server. */
  nextNonce(): string;
  send(response: AdsResponse): void;
  emit(event: XdsEvent): void;
}

/** One ADS stream's protocol state. */
export interface AdsStream {
  readonly id: number;
  /** The client's node, from its first request that carried one. */
  readonly node: XdsNode;
  onRequest(request: AdsRequest): void;
  /** The cache moved `changed` to new versions: push them to the types this stream subscribed to. */
  onSnapshot(changed: readonly XdsTypeUrl[]): void;
}

interface TypeState {
  wildcard: boolean;
  names: Set<string>;
  /** Nonce, version and resource fingerprint of the last response; nonce `''` before the first. */
  lastNonce: string;
  lastVersion: string;
  lastFingerprint: string;
  /** The version the client last rejected; never sent to it again. */
  nackedVersion: string | undefined;
}

const emptyNode: XdsNode = Object.freeze({ id: '', cluster: '', userAgent: '' });

function nodeOf(request: AdsRequest): XdsNode | undefined {
  const n = request.node;
  if (n === undefined || n === null) return undefined;
  const userAgent = [n.user_agent_name, n.user_agent_version].filter((s) => s !== undefined && s !== '').join(' ');
  return Object.freeze({ id: n.id ?? '', cluster: n.cluster ?? '', userAgent });
}

/**
 * Applies the subscription rules of the xDS protocol ("How the client specifies what resources to
 * return"): a first request with no names is a wildcard subscription, which an empty list later
 * keeps; `*` among names asks for everything plus those names. Returns true when it changed.
 */
function subscribe(state: TypeState, names: readonly string[], first: boolean): boolean {
  const wildcard = (first && names.length === 0) || (state.wildcard && names.length === 0) || names.includes('*');
  const next = new Set(names.filter((n) => n !== '*'));
  const changed =
    wildcard !== state.wildcard || next.size !== state.names.size || [...next].some((n) => !state.names.has(n));
  state.wildcard = wildcard;
  state.names = next;
  return changed;
}

/**
 * Creates the protocol state of one stream.
 *
 * @example
 * ```ts
 * const stream = createAdsStream({ id: 1, cache, nextNonce, send: (r) => call.write(r), emit });
 * call.on('data', (request) => stream.onRequest(request));
 * ```
 */
export function createAdsStream(context: AdsStreamContext): AdsStream {
  const states = new Map<XdsTypeUrl, TypeState>();
  let node = emptyNode;

  function respond(typeUrl: XdsTypeUrl, state: TypeState, force: boolean): void {
    const snapshot = context.cache.get(typeUrl);
    if (snapshot === undefined) return; // answered when the first snapshot arrives
    const version = String(snapshot.version);
    if (version === state.nackedVersion) return;
    const resources = [...snapshot.resources.values()]
      .filter((r) => state.wildcard || state.names.has(r.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const fingerprint = resources.map((r) => `${r.name}\u0000${r.hash}`).join('\u0001');
    // A push that changes nothing this stream asked for is skipped; a request is always answered,
    // and so is the first snapshot after a request that came before any.
    if (!force && state.lastNonce !== '' && fingerprint === state.lastFingerprint) return;
    const nonce = context.nextNonce();
    state.lastNonce = nonce;
    state.lastVersion = version;
    state.lastFingerprint = fingerprint;
    context.send({ version_info: version, resources: resources.map((r) => r.any), type_url: typeUrl, nonce });
    context.emit({
      type: 'response',
      streamId: context.id,
      node,
      typeUrl,
      version,
      nonce,
      resources: resources.map((r) => r.name),
    });
  }

  function onRequest(request: AdsRequest): void {
    node = nodeOf(request) ?? node;
    const typeUrl = request.type_url;
    if (!isXdsTypeUrl(typeUrl)) {
      context.emit({ type: 'ignored', streamId: context.id, node, typeUrl, reason: 'unknown_type' });
      return;
    }
    let state = states.get(typeUrl);
    const first = state === undefined;
    state ??= {
      wildcard: false,
      names: new Set(),
      lastNonce: '',
      lastVersion: '',
      lastFingerprint: '',
      nackedVersion: undefined,
    };
    states.set(typeUrl, state);
    const nonce = request.response_nonce;
    if (nonce !== '' && nonce !== state.lastNonce) {
      context.emit({ type: 'ignored', streamId: context.id, node, typeUrl, reason: 'stale_nonce' });
      return;
    }
    if (nonce !== '') {
      const detail = request.error_detail;
      if (detail !== undefined && detail !== null) {
        if (state.nackedVersion !== state.lastVersion) {
          state.nackedVersion = state.lastVersion;
          const message = detail.message ?? '';
          context.emit({
            type: 'nack',
            streamId: context.id,
            node,
            typeUrl,
            version: state.lastVersion,
            nonce,
            message,
          });
        }
      } else {
        context.emit({ type: 'ack', streamId: context.id, node, typeUrl, version: request.version_info, nonce });
      }
    }
    const changed = subscribe(state, request.resource_names, first);
    if (first || changed) respond(typeUrl, state, true);
  }

  function onSnapshot(changed: readonly XdsTypeUrl[]): void {
    for (const typeUrl of xdsTypeUrls) {
      const state = states.get(typeUrl);
      if (state !== undefined && changed.includes(typeUrl)) respond(typeUrl, state, false);
    }
  }

  return {
    id: context.id,
    get node() {
      return node;
    },
    onRequest,
    onSnapshot,
  };
}
