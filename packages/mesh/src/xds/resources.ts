/**
 * The four xDS resources the server derives for one service, in the shape `@grpc/grpc-js-xds`
 * accepts (see its `xds-resource-type/*` validators): a Listener whose `api_listener` is an
 * HttpConnectionManager with the router as its last filter and routes over ADS, a
 * RouteConfiguration sending every path to the service's cluster, an EDS Cluster whose endpoints
 * come over ADS, and the ClusterLoadAssignment listing the instances. All four are named after the
 * service, so a gRPC client dials `xds:///<service>`.
 */
import { HealthStatus, type ServiceInstance } from '@switchyard/core';
import { xdsType } from './protos.ts';

/** Per-service settings that shape the Cluster and RouteConfiguration. */
export interface XdsServicePolicy {
  /** `round_robin` or `ring_hash` (Envoy's `lb_policy`; both are implemented by gRPC's xDS client). */
  readonly lbPolicy: 'round_robin' | 'ring_hash';
  /** With `ring_hash`: the request header whose value is hashed (the route's `hash_policy`). */
  readonly hashHeader?: string | undefined;
  /** The route's `timeout` in milliseconds; absent: no route timeout. */
  readonly routeTimeoutMs?: number | undefined;
  /** The cluster's `connect_timeout` in milliseconds. */
  readonly connectTimeoutMs: number;
}

/** A protobuf `Any` as protobufjs and proto-loader carry it. */
export interface AnyMessage {
  readonly type_url: string;
  readonly value: Uint8Array;
}

const hcmType = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const routerType = 'envoy.extensions.filters.http.router.v3.Router';

/** Encodes `object` (snake_case fields) as an `Any` of message type `name`, rejecting a bad shape. */
export function packAny(name: string, object: Record<string, unknown>): AnyMessage {
  const type = xdsType(name);
  const message = type.fromObject(object);
  const problem = type.verify(message);
  if (problem !== null) throw new Error(`${name}: ${problem}`);
  return { type_url: `type.googleapis.com/${name}`, value: type.encode(message).finish() };
}

function duration(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

const adsConfigSource = { ads: {}, resource_api_version: 'V3' };

/** The Listener `service`: an API listener (no socket) for gRPC clients, routes fetched over ADS. */
export function listenerResource(service: string): Record<string, unknown> {
  const hcm = {
    stat_prefix: service,
    rds: { config_source: adsConfigSource, route_config_name: service },
    // gRPC requires the router to be the last HTTP filter.
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(routerType, {}) }],
  };
  return { name: service, api_listener: { api_listener: packAny(hcmType, hcm) } };
}

/** The RouteConfiguration `service`: every request to any authority goes to the cluster `service`. */
export function routeConfigurationResource(service: string, policy: XdsServicePolicy): Record<string, unknown> {
  const route: Record<string, unknown> = { cluster: service };
  if (policy.routeTimeoutMs !== undefined) route.timeout = duration(policy.routeTimeoutMs);
  if (policy.lbPolicy === 'ring_hash' && policy.hashHeader !== undefined) {
    route.hash_policy = [{ header: { header_name: policy.hashHeader } }];
  }
  return {
    name: service,
    virtual_hosts: [{ name: service, domains: ['*'], routes: [{ match: { prefix: '' }, route }] }],
  };
}

/** The Cluster `service`: endpoints by EDS over ADS, balanced by the policy's `lb_policy`. */
export function clusterResource(service: string, policy: XdsServicePolicy): Record<string, unknown> {
  return {
    name: service,
    type: 'EDS',
    eds_cluster_config: { eds_config: adsConfigSource, service_name: service },
    connect_timeout: duration(policy.connectTimeoutMs),
    lb_policy: policy.lbPolicy === 'ring_hash' ? 'RING_HASH' : 'ROUND_ROBIN',
  };
}

/**
 * The ClusterLoadAssignment `service`: one locality holding every usable instance, passing ones
 * `HEALTHY` and warning ones `DEGRADED` (gRPC clients use only healthy endpoints; Envoy falls back
 * to degraded ones when too few are healthy). The locality weight is set because gRPC sums
 * locality weights, counting an unset one as 0. Endpoint weights are the instances' weights,
 * rounded, at least 1.
 */
export function loadAssignmentResource(
  service: string,
  instances: readonly ServiceInstance[],
): Record<string, unknown> {
  const lbEndpoints = instances.map((instance) => ({
    endpoint: { address: { socket_address: { address: instance.address, port_value: instance.port } } },
    health_status: instance.status === HealthStatus.Passing ? 'HEALTHY' : 'DEGRADED',
    load_balancing_weight: { value: Math.max(1, Math.round(instance.weight)) },
  }));
  return {
    cluster_name: service,
    endpoints:
      lbEndpoints.length === 0
        ? []
        : [{ locality: { region: '', zone: '' }, load_balancing_weight: { value: 1 }, lb_endpoints: lbEndpoints }],
  };
}
