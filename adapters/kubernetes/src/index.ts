/**
 * `@switchyard/adapter-kubernetes`: read-only Switchyard discovery from Kubernetes. A Service's
 * instances are the ready endpoints of its EndpointSlices (`discovery.k8s.io/v1`): the source
 * lists them, then watches from the list's resourceVersion, resumes a watch that ended from the
 * last version it saw, and lists again when that version expired (410 Gone).
 *
 * @example
 * ```ts
 * import { createKubernetesDiscovery } from '@switchyard/adapter-kubernetes';
 * import { createDiscoveryClient } from '@switchyard/discovery';
 *
 * // Inside a pod: the in-cluster service account and its namespace.
 * const discovery = createDiscoveryClient({ source: createKubernetesDiscovery({ port: 'http' }) });
 * console.log((await discovery.instances('orders')).map((i) => `${i.id}@${i.address}:${i.port}`));
 * await discovery.close();
 * ```
 *
 * @packageDocumentation
 */

export type { ConversionOptions, EndpointPort, EndpointSlice, SliceEndpoint } from './endpoint-slices.ts';
export { choosePort, endpointSliceProblem, toInstances } from './endpoint-slices.ts';
export type { KubernetesErrorCode } from './errors.ts';
export { kubernetesError, kubernetesErrorCodes } from './errors.ts';
export type { KubernetesDiscovery } from './kubernetes-discovery.ts';
export { createKubernetesDiscovery } from './kubernetes-discovery.ts';
export type { KubernetesDiscoveryOptions, ResolvedKubernetesDiscoveryOptions } from './options.ts';
export {
  AddressType,
  defaultNamespace,
  kubernetesDiscoveryOptionsSchema,
  resolveKubernetesDiscoveryOptions,
  SERVICE_ACCOUNT_NAMESPACE_FILE,
} from './options.ts';
export type { AppliedObject, ServerSideApplyOptions } from './server-side-apply.ts';
export { serverSideApply } from './server-side-apply.ts';
