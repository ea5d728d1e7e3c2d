/**
 * The shared vocabulary of the xDS server: the resource type URLs it serves, the
 * {@link XdsSnapshotSource} port it reads services from, and the events it reports.
 * A leaf file: it imports nothing of the package.
 */
import type { ServiceInstance } from '@switchyard/core';

/** The xDS v3 resource types the server serves, by their type URLs. */
export const XdsTypeUrl = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;
/** One of {@link XdsTypeUrl}. */
export type XdsTypeUrl = (typeof XdsTypeUrl)[keyof typeof XdsTypeUrl];

/**
 * The order pushes go out in after a change: clusters before their endpoints, listeners before
 * their routes, as Envoy's xDS protocol doc recommends for ADS so no client routes to a cluster
 * it does not know yet.
 */
export const xdsTypeUrls: readonly XdsTypeUrl[] = [
  XdsTypeUrl.Cluster,
  XdsTypeUrl.ClusterLoadAssignment,
  XdsTypeUrl.Listener,
  XdsTypeUrl.RouteConfiguration,
];

/** True when `value` is one of {@link XdsTypeUrl}. */
export function isXdsTypeUrl(value: string): value is XdsTypeUrl {
  return (xdsTypeUrls as readonly string[]).includes(value);
}

/** Service name -> its usable instances (non-critical; `status` says passing or warning). */
export type XdsServiceMap = ReadonlyMap<string, readonly ServiceInstance[]>;

/** A handle that stops a watch; idempotent. */
export interface XdsSourceSubscription {
  dispose(): void;
}

/**
 * Where the xDS server learns services and their instances: a port, so a registry, a discovery
 * client or a test can drive it. `watch` calls `listener` with the complete current state as soon
 * as it is known, then again after every change (calling it with an unchanged state is harmless:
 * unchanged resources keep their version).
 *
 * @example
 * ```ts
 * // A source a test drives by hand.
 * let push: (services: XdsServiceMap) => void = () => {};
 * const source: XdsSnapshotSource = {
 *   watch(listener) {
 *     push = listener;
 *     listener(new Map([['greeter', []]]));
 *     return { dispose() { push = () => {}; } };
 *   },
 * };
 * ```
 */
export interface XdsSnapshotSource {
  watch(listener: (services: XdsServiceMap) => void): XdsSourceSubscription;
}

/** What a client said about one response. */
export interface XdsNode {
  /** `node.id` of the client's first request, `''` when it sent none. */
  readonly id: string;
  /** `node.cluster`, `''` when unset. */
  readonly cluster: string;
  /** `node.user_agent_name` and `user_agent_version`, space-separated (`gRPC Node Pure JS 1.14.1`). */
  readonly userAgent: string;
}

/** The kinds of {@link XdsEvent}. */
export const XdsEventType = {
  Snapshot: 'snapshot',
  StreamOpened: 'stream_opened',
  StreamClosed: 'stream_closed',
  Response: 'response',
  Ack: 'ack',
  Nack: 'nack',
  Ignored: 'ignored',
} as const;
/** One of {@link XdsEventType}. */
export type XdsEventType = (typeof XdsEventType)[keyof typeof XdsEventType];

/** A new snapshot was built: `changed` lists the type URLs whose version moved (empty: nothing changed). */
export interface XdsSnapshotEvent {
  readonly type: 'snapshot';
  readonly services: number;
  readonly versions: Readonly<Record<XdsTypeUrl, string>>;
  readonly changed: readonly XdsTypeUrl[];
}

/** A client opened an ADS stream. */
export interface XdsStreamOpenedEvent {
  readonly type: 'stream_opened';
  readonly streamId: number;
  readonly peer: string;
}

/** An ADS stream ended (client gone, cancelled, or server closing). */
export interface XdsStreamClosedEvent {
  readonly type: 'stream_closed';
  readonly streamId: number;
  readonly node: XdsNode;
}

/** The server sent a DiscoveryResponse. */
export interface XdsResponseEvent {
  readonly type: 'response';
  readonly streamId: number;
  readonly node: XdsNode;
  readonly typeUrl: XdsTypeUrl;
  readonly version: string;
  readonly nonce: string;
  readonly resources: readonly string[];
}

/** A client accepted the response with `nonce` at `version`. */
export interface XdsAckEvent {
  readonly type: 'ack';
  readonly streamId: number;
  readonly node: XdsNode;
  readonly typeUrl: XdsTypeUrl;
  readonly version: string;
  readonly nonce: string;
}

/**
 * A client rejected the response with `nonce`, which carried `version`; `message` is its
 * `error_detail.message`. Reported once per stream, type and version: that version is not sent to
 * the stream again, the next one is.
 */
export interface XdsNackEvent {
  readonly type: 'nack';
  readonly streamId: number;
  readonly node: XdsNode;
  readonly typeUrl: XdsTypeUrl;
  readonly version: string;
  readonly nonce: string;
  readonly message: string;
}

/** A request the server did not act on: a type URL it does not serve, or a stale nonce. */
export interface XdsIgnoredEvent {
  readonly type: 'ignored';
  readonly streamId: number;
  readonly node: XdsNode;
  readonly typeUrl: string;
  readonly reason: 'unknown_type' | 'stale_nonce';
}

/** Everything `onEvent` reports, for logs and metrics. */
export type XdsEvent =
  | XdsSnapshotEvent
  | XdsStreamOpenedEvent
  | XdsStreamClosedEvent
  | XdsResponseEvent
  | XdsAckEvent
  | XdsNackEvent
  | XdsIgnoredEvent;

/** The logger the server warns through (pino-shaped; a NACK is logged here once). */
export interface XdsLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}
