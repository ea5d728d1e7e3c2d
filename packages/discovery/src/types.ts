/**
 * The registry's data model, in Consul's JSON field names and casing so the same objects serve the
 * in-process API and the Consul-compatible HTTP API. This file is a leaf: it imports nothing of the
 * package, so every other file can depend on it without an import loop.
 */
import type { HealthStatus, ServiceInstance } from '@switchyard/core';

/** How a health check decides its status. */
export const CheckType = {
  /** An HTTP request: 2xx passing, 429 warning, anything else critical. */
  Http: 'http',
  /** A TCP connect: success passing, failure critical. */
  Tcp: 'tcp',
  /** Time to live: the service reports in; silence past the TTL is critical. */
  Ttl: 'ttl',
} as const;
export type CheckType = (typeof CheckType)[keyof typeof CheckType];

/** Balancer weights by health status, as Consul's `Weights`. @default { Passing: 1, Warning: 1 } */
export interface ServiceWeights {
  readonly Passing: number;
  readonly Warning: number;
}

/**
 * A health check as given in a registration (`Check` or one of `Checks`), in Consul's casing.
 * Durations are Go duration strings (`"10s"`, `"1m30s"`, `"500ms"`); over HTTP a number is taken as
 * nanoseconds, as Consul does.
 */
export interface CheckDefinition {
  /** @default `service:<ServiceID>`, or `service:<ServiceID>:<n>` (1-based) when the service has several checks */
  readonly CheckID?: string;
  /** @default `Service '<Name>' check` */
  readonly Name?: string;
  readonly Notes?: string;
  /** Initial status. @default 'critical' (Consul's default: an instance is not trusted before its first check) */
  readonly Status?: HealthStatus;
  /** URL probed by an HTTP check. */
  readonly HTTP?: string;
  /** HTTP method. @default 'GET' */
  readonly Method?: string;
  /** Extra request headers for an HTTP check; Consul's form is a list of values per name. */
  readonly Header?: Readonly<Record<string, string | readonly string[]>>;
  /** Request body for an HTTP check. */
  readonly Body?: string;
  /** `host:port` dialled by a TCP check. */
  readonly TCP?: string;
  /** Time to live of a TTL check. */
  readonly TTL?: string;
  /** Time between HTTP/TCP probes; required for them. */
  readonly Interval?: string;
  /** Per-probe timeout. @default '10s' */
  readonly Timeout?: string;
  /** Deregisters the instance once this check has stayed critical for this long. */
  readonly DeregisterCriticalServiceAfter?: string;
}

/**
 * A standalone check, as `PUT /v1/agent/check/register` takes it: a {@link CheckDefinition} with a
 * required `Name`, an `ID` (default: the name) and optionally the `ServiceID` it belongs to. Without
 * `ServiceID` it is a node-level check, which counts towards the health of every instance, as in Consul.
 */
export interface CheckRegistration extends Omit<CheckDefinition, 'CheckID' | 'Name'> {
  /** The check's name. Required. */
  readonly Name: string;
  /** @default Name */
  readonly ID?: string;
  /** The instance the check belongs to; it must be registered. */
  readonly ServiceID?: string;
}

/** A service instance registration, as `PUT /v1/agent/service/register` takes it. */
export interface ServiceRegistration {
  /** Service name shared by all instances (`orders`). Required. */
  readonly Name: string;
  /** Unique instance ID. @default Name */
  readonly ID?: string;
  readonly Tags?: readonly string[];
  /** String metadata; keys are alphanumerics, `-` and `_`, at most 64 of them. */
  readonly Meta?: Readonly<Record<string, string>>;
  /** Instance address; empty means the node's address, as in Consul. @default '' */
  readonly Address?: string;
  /** @default 0 */
  readonly Port?: number;
  readonly Weights?: Partial<ServiceWeights>;
  readonly Check?: CheckDefinition;
  readonly Checks?: readonly CheckDefinition[];
}

/** A registered service instance, as `GET /v1/agent/service/:id` renders it. */
export interface AgentService {
  readonly ID: string;
  /** The service name. */
  readonly Service: string;
  readonly Tags: readonly string[];
  readonly Meta: Readonly<Record<string, string>>;
  readonly Address: string;
  readonly Port: number;
  readonly Weights: ServiceWeights;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** The probe part of a registered check, as Consul's `HealthCheck.Definition`. */
export interface HealthCheckDefinition {
  readonly HTTP?: string;
  readonly Method?: string;
  readonly Header?: Readonly<Record<string, readonly string[]>>;
  readonly Body?: string;
  readonly TCP?: string;
  readonly TTL?: string;
  readonly Interval?: string;
  readonly Timeout?: string;
  readonly DeregisterCriticalServiceAfter?: string;
}

/** A registered check and its current status, as `GET /v1/agent/checks` renders it. */
export interface HealthCheck {
  readonly Node: string;
  readonly CheckID: string;
  readonly Name: string;
  readonly Status: HealthStatus;
  readonly Notes: string;
  /** Why the check has its status, e.g. `HTTP GET http://127.0.0.1:8080/health: 200 OK Output: ok`. */
  readonly Output: string;
  readonly ServiceID: string;
  readonly ServiceName: string;
  readonly ServiceTags: readonly string[];
  /** `http`, `tcp`, `ttl`, or empty for node checks such as `serfHealth`. */
  readonly Type: CheckType | '';
  readonly Interval: string;
  readonly Timeout: string;
  readonly Definition: HealthCheckDefinition;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** One instance with its checks and their aggregate, the registry's answer to a health query. */
export interface ServiceHealth {
  readonly Service: AgentService;
  readonly Checks: readonly HealthCheck[];
  /** The worst status among `Checks` (critical > warning > passing); passing when there are none. */
  readonly Status: HealthStatus;
}

/** The node the registry presents itself as; Consul reports every instance on a node. */
export interface ConsulNode {
  readonly ID: string;
  readonly Node: string;
  /** Address used for instances registered without one. */
  readonly Address: string;
  readonly Datacenter: string;
  readonly TaggedAddresses: Readonly<Record<string, string>>;
  readonly Meta: Readonly<Record<string, string>>;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** One element of `GET /v1/health/service/:name`. */
export interface HealthServiceEntry {
  readonly Node: ConsulNode;
  readonly Service: AgentService;
  readonly Checks: readonly HealthCheck[];
}

/** One element of `GET /v1/catalog/service/:name`. */
export interface CatalogService {
  readonly ID: string;
  readonly Node: string;
  readonly Address: string;
  readonly Datacenter: string;
  readonly TaggedAddresses: Readonly<Record<string, string>>;
  readonly NodeMeta: Readonly<Record<string, string>>;
  readonly ServiceID: string;
  readonly ServiceName: string;
  readonly ServiceTags: readonly string[];
  readonly ServiceAddress: string;
  readonly ServicePort: number;
  readonly ServiceMeta: Readonly<Record<string, string>>;
  readonly ServiceWeights: ServiceWeights;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** What an HTTP or TCP check probes, resolved from its definition. */
export interface CheckProbe {
  readonly type: typeof CheckType.Http | typeof CheckType.Tcp;
  /** The URL of an HTTP check, or the `host:port` of a TCP check. */
  readonly target: string;
  /** HTTP method (upper case); unused by TCP checks. */
  readonly method: string;
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body?: string;
  /** Milliseconds before the probe counts as failed. */
  readonly timeoutMs: number;
}

/** The outcome of one probe. */
export interface CheckResult {
  readonly status: HealthStatus;
  /** Why, in Consul's style: `HTTP GET http://127.0.0.1:8080/health: 200 OK Output: ok`. */
  readonly output: string;
}

/**
 * Runs one probe. It must settle (never hang past `probe.timeoutMs`) and should resolve with a
 * critical result rather than reject; a rejection counts as critical with the error message.
 * `signal` aborts when the check is removed or the registry closes.
 */
export type CheckRunner = (probe: CheckProbe, signal: AbortSignal) => Promise<CheckResult>;

/** A handle returned by `onX(listener)`; `dispose()` removes the listener and is idempotent. */
export interface Subscription extends Disposable {
  dispose(): void;
}

/** Receives a {@link DiscoverySource}'s updates for one service. */
export interface DiscoveryWatcher {
  /** The complete current list of usable (non-critical) instances, ordered by ID. */
  next(instances: readonly ServiceInstance[]): void;
  /** A refresh failed; the source keeps retrying and the last list stays valid. */
  error(err: unknown): void;
  /**
   * The source lost its place and is starting over with a full list: Consul's index went
   * backwards or reset to 0, an etcd watch hit a compacted revision, a Kubernetes watch got 410
   * Gone, or the source re-lists after an error. Called just before the `next` that carries the
   * re-listed set, with a short human-readable reason naming the backend's rule. Optional for
   * watchers; sources that never lose their place (the in-process registry) never call it.
   */
  resynced?(reason: string): void;
}

/**
 * Where a discovery client gets instance lists from: the in-process registry, a Consul agent, or
 * (later) another registry backend. A source pushes full lists; the client caches them.
 */
export interface DiscoverySource {
  /** Starts following `service`; the first `next` call comes as soon as the source knows the list. */
  watch(service: string, watcher: DiscoveryWatcher): Subscription;
  /** Stops every watch and releases what the source owns; idempotent. */
  close(): Promise<void>;
}
