/**
 * `@switchyard/discovery`: how services find each other.
 *
 * - {@link createRegistry}: the embedded registry, an in-memory model of Consul's agent and catalog
 *   with HTTP, TCP and TTL health checks and blocking change waits.
 * - {@link createRegistryServer}: serves a registry over Consul's HTTP API, so the `consul` npm
 *   client and other Consul tools work against it.
 * - {@link createConsulClient}: a small client for a Consul agent or the embedded server.
 * - {@link createDiscoveryClient} with {@link registrySource} or {@link consulSource}: a cached,
 *   self-refreshing list of usable instances per service, cheap enough to read per request;
 *   `pick()` from memory, `watch()` as an async iterator of per-service changes, `status()` for
 *   staleness (the last good list is served while the registry is unreachable).
 * - {@link createBalancer}: pick one instance of the list: round robin, random, smooth weighted
 *   round robin, least request and peak-EWMA (power of two choices), ring hash for sticky keys.
 * - {@link createInstanceStats}: per-instance in-flight counts, latency and failures, one store
 *   shared by the balancers, {@link createOutlierDetector} (passive ejection) and breakers.
 *
 * @example
 * ```ts
 * import {
 *   consulSource, createDiscoveryClient, createRegistry, createRegistryServer, roundRobin,
 * } from '@switchyard/discovery';
 *
 * const registry = createRegistry();
 * const server = await createRegistryServer({ registry, port: 0 });
 * registry.register({ Name: 'orders', ID: 'orders-1', Address: '127.0.0.1', Port: 8081,
 *   Check: { TTL: '30s', Status: 'passing' } });
 *
 * const discovery = createDiscoveryClient({ source: consulSource({ url: server.url }) });
 * const target = roundRobin().pick(await discovery.instances('orders'));
 * console.log(target?.port); // 8081
 *
 * await discovery.close();
 * await server.close();
 * await registry.close();
 * ```
 *
 * @packageDocumentation
 */

export type { CreateBalancerOptions } from './balancer.ts';
export { BalancerKind, balancerKinds, createBalancer, randomBalancer, roundRobin } from './balancer.ts';
export type { LeastRequestOptions } from './balancers/least-request.ts';
export { leastRequest } from './balancers/least-request.ts';
export type { PeakEwmaOptions } from './balancers/peak-ewma.ts';
export { peakEwma } from './balancers/peak-ewma.ts';
export type { RingHashOptions } from './balancers/ring-hash.ts';
export { hash32, ringHash } from './balancers/ring-hash.ts';
export type { Balancer, PickOptions } from './balancers/types.ts';
export type { WeightedRoundRobinOptions } from './balancers/weighted-round-robin.ts';
export { instanceWeight, weightedRoundRobin } from './balancers/weighted-round-robin.ts';
export type { ConsulClient, HealthServiceQuery, HealthServiceResult } from './consul-client.ts';
export { createConsulClient } from './consul-client.ts';
export type { ConsulSourceOptions } from './consul-source.ts';
export { consulSource } from './consul-source.ts';
export type {
  DiscoveryClient,
  DiscoveryClientOptions,
  DiscoveryStatus,
  InstancesListener,
  InstancesOptions,
  PickInstanceOptions,
  WatchOptions,
} from './discovery-client.ts';
export { createDiscoveryClient } from './discovery-client.ts';
export type { DiscoveryErrorCode } from './errors.ts';
export { discoveryError, discoveryErrorCodes } from './errors.ts';
export type { Filter } from './filter.ts';
export { compileFilter, FilterTarget } from './filter.ts';
export type { CheckMonitor, CheckMonitorOptions } from './health-checker.ts';
export { httpCheck, runCheck, startCheckMonitor, tcpCheck } from './health-checker.ts';
export type {
  InstanceStat,
  InstanceStats,
  InstanceStatsOptions,
  RequestOutcome,
  ResolvedInstanceStatsOptions,
} from './instance-stats.ts';
export { createInstanceStats, instanceStatsOptionsSchema, resolveInstanceStatsOptions } from './instance-stats.ts';
export type { HealthEntryLike } from './instances.ts';
export { toServiceInstances } from './instances.ts';
export type {
  ConsulClientOptions,
  RegistryOptions,
  ResolvedConsulClientOptions,
  ResolvedRegistryOptions,
} from './options.ts';
export {
  consulClientOptionsSchema,
  registryOptionsSchema,
  resolveConsulClientOptions,
  resolveRegistryOptions,
} from './options.ts';
export type {
  EjectionEvent,
  OutlierDetectionOptions,
  OutlierDetector,
  ResolvedOutlierDetectionOptions,
} from './outlier-ejection.ts';
export {
  createOutlierDetector,
  outlierDetectionOptionsSchema,
  resolveOutlierDetectionOptions,
  withOutlierDetection,
} from './outlier-ejection.ts';
export type { CreateRegistryOptions, InstanceFilter, Registry } from './registry.ts';
export { createRegistry } from './registry.ts';
export type {
  RegistryAcl,
  RegistryAclDecision,
  RegistryAclErrorCode,
  RegistryAclOptions,
  ResolvedRegistryAclOptions,
} from './registry-acl.ts';
export {
  createRegistryAcl,
  RegistryAuthRefusal,
  RegistryPolicy,
  registryAclSchema,
  requireRegistryAclWhenExposed,
} from './registry-acl.ts';
export type { RegistryBackend } from './registry-backend.ts';
export { consulRegistry, embeddedRegistry } from './registry-backend.ts';
export type { RegistryServer, RegistryServerOptions } from './registry-server.ts';
export { createRegistryServer } from './registry-server.ts';
export { registrySource } from './registry-source.ts';
export type { RegistrySnapshot, RegistryStore, StoredCheck, StoredService } from './registry-store.ts';
export { createSqliteRegistryStore } from './sqlite-registry-store.ts';
export type {
  AgentService,
  CatalogService,
  CheckDefinition,
  CheckProbe,
  CheckRegistration,
  CheckResult,
  CheckRunner,
  ConsulNode,
  DiscoverySource,
  DiscoveryWatcher,
  HealthCheck,
  HealthCheckDefinition,
  HealthServiceEntry,
  ServiceHealth,
  ServiceRegistration,
  ServiceWeights,
  Subscription,
} from './types.ts';
export { CheckType } from './types.ts';
export type {
  DiscoveryEvent,
  DiscoveryWatch,
  FreshEvent,
  InstancesEvent,
  ResyncedEvent,
  StaleEvent,
} from './watch-stream.ts';
export { DiscoveryEventType } from './watch-stream.ts';
