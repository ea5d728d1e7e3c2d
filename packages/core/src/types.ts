/** Health of an instance or a check, with Consul's meaning. */
export const HealthStatus = {
  Passing: 'passing',
  Warning: 'warning',
  Critical: 'critical',
} as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];

/** Where to reach one instance of a service. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** One running instance of a service, as discovery reports it. */
export interface ServiceInstance extends Endpoint {
  /** Unique instance id (`orders-1`). */
  readonly id: string;
  /** Service name (`orders`). */
  readonly service: string;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  /** Aggregated health of the instance's checks. */
  readonly status: HealthStatus;
  /** Relative weight for balancers. @default 1 */
  readonly weight: number;
}

/** `http://address:port`, with IPv6 addresses bracketed. */
export function endpointOrigin(endpoint: Endpoint, scheme = 'http'): string {
  const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
  return `${scheme}://${host}:${endpoint.port}`;
}
