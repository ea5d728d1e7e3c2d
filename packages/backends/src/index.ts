/**
 * `@switchyard/backends`: opens the backend a URL or config section names, loading only the
 * adapter it needs, so one `switchyard.yaml` (or one set of environment variables) moves a system
 * from embedded defaults to servers without a code change.
 *
 * - {@link openRegistryBackend}: where services register: `embedded` (the registry `switchyard up`
 *   runs, through its Consul API), `consul`, `etcd`.
 * - {@link openDiscoverySource}: where instances are found: the same, plus `kubernetes`.
 * - {@link openSagaStore}: `sqlite:<file>` or `postgres://...?schema=`.
 * - {@link openEventBus}: `sqlite:<file>`, `nats://...?stream=&subjectPrefix=`, `amqp://...?exchange=`.
 *
 * @example
 * ```ts
 * import { openEventBus, openRegistryBackend, openSagaStore } from '@switchyard/backends';
 *
 * const env = process.env;
 * const registry = await openRegistryBackend(env.SWITCHYARD_REGISTRY_URL ?? 'http://127.0.0.1:8500');
 * const store = await openSagaStore(env.SWITCHYARD_SAGA_STORE ?? 'sqlite:sagas.sqlite', { baseDir: '.data' });
 * const bus = await openEventBus(env.SWITCHYARD_EVENT_BUS ?? 'sqlite:bus.sqlite', { baseDir: '.data' });
 * ```
 *
 * @packageDocumentation
 */

export type { BackendUrl } from './backend-url.ts';
export { parseBackendUrl, takeUrlParams } from './backend-url.ts';
export type { OpenEventBusOptions } from './event-bus.ts';
export { openEventBus } from './event-bus.ts';
export type { OpenRegistryOptions } from './registry.ts';
export { describeRegistry, openDiscoverySource, openRegistryBackend } from './registry.ts';
export type { EtcdLocation, RegistryConfig, RegistryConfigInput } from './registry-config.ts';
export {
  DEFAULT_ETCD_PREFIX,
  etcdEndpoints,
  parseEtcdUrl,
  RegistryBackendKind,
  registryConfigSchema,
  registryUrlFor,
  resolveRegistryConfig,
} from './registry-config.ts';
export type { OpenSagaStoreOptions } from './saga-store.ts';
export { openSagaStore } from './saga-store.ts';
