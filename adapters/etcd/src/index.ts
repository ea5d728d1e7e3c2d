/**
 * `@switchyard/adapter-etcd`: Switchyard's etcd v3 registry backend. Each process keeps its
 * instances under one lease that the client keeps alive, so a process that dies takes its
 * instances with it within the lease TTL; discovery lists a service's key prefix and watches it
 * from that revision, resuming after a break where it left off.
 *
 * Key layout: `<prefix><service>/<id>` (default prefix `/switchyard/services/`) holds the
 * instance record as JSON: `{"ID","Name","Address","Port","Tags","Meta","Weights"}`.
 *
 * @example
 * ```ts
 * import { createEtcdRegistry } from '@switchyard/adapter-etcd';
 * import { createDiscoveryClient } from '@switchyard/discovery';
 *
 * const etcd = createEtcdRegistry({ endpoints: ['http://127.0.0.1:2379'] });
 * await etcd.register({ Name: 'orders', ID: 'orders-1', Address: '10.0.0.5', Port: 8080 });
 * const discovery = createDiscoveryClient({ source: etcd });
 * console.log((await discovery.instances('orders')).map((i) => i.id)); // [ 'orders-1' ]
 * await discovery.close(); // closes the registry too: the lease is revoked
 * ```
 *
 * @packageDocumentation
 */

export type { EtcdErrorCode } from './errors.ts';
export { etcdError, etcdErrorCodes } from './errors.ts';
export type { EtcdRegistry, LeaseRestoredInfo } from './etcd-registry.ts';
export { createEtcdRegistry } from './etcd-registry.ts';
export type { InstanceRecord } from './key-layout.ts';
export { instanceKey, servicePrefix } from './key-layout.ts';
export type { EtcdRegistryOptions, ResolvedEtcdRegistryOptions } from './options.ts';
export { DEFAULT_ETCD_ENDPOINT, etcdRegistryOptionsSchema, resolveEtcdRegistryOptions } from './options.ts';
