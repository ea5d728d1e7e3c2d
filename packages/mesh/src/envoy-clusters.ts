import { isIP } from 'node:net';
import { defined, type EnvoyJson, envoyDuration, socketAddress, typeUrl } from './internal/envoy-json.ts';
import type { ResolvedMeshCluster } from './mesh-config.ts';

/** Where a cluster's endpoints come from: listed in the bootstrap, or EDS over the ADS stream. */
export const EndpointSource = {
  Static: 'static',
  Eds: 'eds',
} as const;
export type EndpointSource = (typeof EndpointSource)[keyof typeof EndpointSource];

const lbPolicies: Record<ResolvedMeshCluster['lbPolicy'], string> = {
  round_robin: 'ROUND_ROBIN',
  least_request: 'LEAST_REQUEST',
  ring_hash: 'RING_HASH',
  maglev: 'MAGLEV',
  random: 'RANDOM',
};

const httpProtocolOptions = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/**
 * Builds an Envoy `Cluster` (`envoy.config.cluster.v3.Cluster`) for one service: balancing
 * policy, circuit-breaker thresholds, outlier detection, HTTP health checks, and either the
 * static endpoints (`STATIC` for IP addresses, `STRICT_DNS` when any is a host name) or `EDS`
 * over ADS, with the service name as the EDS resource name.
 *
 * @example
 * ```ts
 * buildCluster('orders', clusterOf(config, 'orders'), EndpointSource.Eds);
 * ```
 */
export function buildCluster(name: string, cluster: ResolvedMeshCluster, source: EndpointSource): EnvoyJson {
  const dns = cluster.endpoints.some((e) => isIP(e.address) === 0);
  return defined({
    name,
    connect_timeout: envoyDuration(cluster.connectTimeout),
    type: source === EndpointSource.Eds ? 'EDS' : dns ? 'STRICT_DNS' : 'STATIC',
    lb_policy: lbPolicies[cluster.lbPolicy],
    ...(source === EndpointSource.Eds
      ? { eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name } }
      : { load_assignment: loadAssignment(name, cluster.endpoints) }),
    typed_extension_protocol_options: cluster.http2 ? http2Options() : undefined,
    circuit_breakers: cluster.circuitBreaker === undefined ? undefined : circuitBreakers(cluster.circuitBreaker),
    outlier_detection: cluster.outlierDetection === undefined ? undefined : outlierDetection(cluster.outlierDetection),
    health_checks: cluster.healthCheck === undefined ? undefined : [healthCheck(cluster.healthCheck)],
  });
}

/**
 * The cluster of the xDS (ADS) server itself: gRPC needs HTTP/2. `STRICT_DNS` when `host` is
 * a name, `STATIC` for an IP address.
 */
export function buildXdsCluster(name: string, host: string, port: number): EnvoyJson {
  return {
    name,
    connect_timeout: '5s',
    type: isIP(host) === 0 ? 'STRICT_DNS' : 'STATIC',
    typed_extension_protocol_options: http2Options(),
    load_assignment: loadAssignment(name, [{ address: host, port }]),
  };
}

/** A `ClusterLoadAssignment` listing `endpoints` in one locality. */
export function loadAssignment(
  name: string,
  endpoints: ReadonlyArray<{ address: string; port: number; weight?: number | undefined }>,
): EnvoyJson {
  return {
    cluster_name: name,
    endpoints:
      endpoints.length === 0
        ? []
        : [
            {
              lb_endpoints: endpoints.map((e) =>
                defined({ endpoint: { address: socketAddress(e.address, e.port) }, load_balancing_weight: e.weight }),
              ),
            },
          ],
  };
}

function http2Options(): EnvoyJson {
  return {
    [httpProtocolOptions]: {
      '@type': typeUrl(httpProtocolOptions),
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
}

function circuitBreakers(cb: NonNullable<ResolvedMeshCluster['circuitBreaker']>): EnvoyJson {
  return {
    thresholds: [
      defined({
        priority: 'DEFAULT',
        max_connections: cb.maxConnections,
        max_pending_requests: cb.maxPendingRequests,
        max_requests: cb.maxRequests,
        max_retries: cb.maxRetries,
      }),
    ],
  };
}

function outlierDetection(od: NonNullable<ResolvedMeshCluster['outlierDetection']>): EnvoyJson {
  const percentage = od.failurePercentage !== undefined;
  return defined({
    consecutive_5xx: od.consecutive5xx,
    consecutive_gateway_failure: od.consecutiveGatewayFailure,
    // Envoy enforces gateway-failure and failure-percentage ejection only when told to.
    enforcing_consecutive_gateway_failure: od.consecutiveGatewayFailure === undefined ? undefined : 100,
    failure_percentage_threshold: od.failurePercentage,
    enforcing_failure_percentage: percentage ? 100 : undefined,
    failure_percentage_minimum_hosts: percentage ? 1 : undefined,
    failure_percentage_request_volume: percentage ? (od.failurePercentageRequestVolume ?? 20) : undefined,
    interval: od.interval === undefined ? undefined : envoyDuration(od.interval),
    base_ejection_time: od.baseEjectionTime === undefined ? undefined : envoyDuration(od.baseEjectionTime),
    max_ejection_percent: od.maxEjectionPercent,
  });
}

function healthCheck(hc: NonNullable<ResolvedMeshCluster['healthCheck']>): EnvoyJson {
  return {
    timeout: envoyDuration(hc.timeout),
    interval: envoyDuration(hc.interval),
    unhealthy_threshold: hc.unhealthyThreshold,
    healthy_threshold: hc.healthyThreshold,
    http_health_check: { path: hc.path },
  };
}
