/**
 * `@switchyard/mesh`: the same config and registry that drive the gateway, handed to mesh
 * infrastructure: Envoy bootstraps checked against Envoy's own protos, and an xDS control plane.
 *
 * @packageDocumentation
 */

export type { IdentityFiles } from './ca/identity-files.ts';
export { writeIdentityFiles } from './ca/identity-files.ts';
export type { IssuedWorkload, IssueWorkloadOptions, LocalCa, LocalCaOptions } from './ca/local-ca.ts';
export {
  CA_ROOT_CERT_FILE,
  CA_ROOT_KEY_FILE,
  createLocalCa,
  issueWorkloadOptionsSchema,
  localCaOptionsSchema,
  spiffeIdOfCertificate,
  writeAtomically,
} from './ca/local-ca.ts';
export type { RotatingIdentity, WorkloadIdentityOptions } from './ca/workload-identity.ts';
export { workloadIdentity } from './ca/workload-identity.ts';
export type { EnvoyBootstrapOptions } from './envoy-bootstrap.ts';
export { EnvoyMode, envoyBootstrapOptionsSchema, generateEnvoyBootstrap, XDS_CLUSTER } from './envoy-bootstrap.ts';
export { buildCluster, buildXdsCluster, EndpointSource, loadAssignment } from './envoy-clusters.ts';
export type { HttpListenerOptions } from './envoy-listeners.ts';
export { buildHttpListener } from './envoy-listeners.ts';
export type { EnvoyProtos } from './envoy-protos.ts';
export { envoyProtoEntryFiles, loadEnvoyMessageType, loadEnvoyProtos } from './envoy-protos.ts';
export { buildRouteConfiguration, defaultRetryOn } from './envoy-routes.ts';
export type { EnvoyConfigIssue } from './envoy-validate.ts';
export { assertValidEnvoyConfig, envoyBootstrapType, validateEnvoyConfig } from './envoy-validate.ts';
export { toEnvoyYaml } from './envoy-yaml.ts';
export type { MeshErrorCode } from './errors.ts';
export { meshError, meshErrorCodes } from './errors.ts';
export type {
  IstioOptions,
  IstioRouteTraffic,
  IstioSubsetWeight,
  ResolvedIstioOptions,
} from './istio/istio-options.ts';
export { istioOptionsSchema, resolveIstioOptions } from './istio/istio-options.ts';
export type { IstioDestination, IstioGeneration, IstioHttpRoute } from './istio/istio-resources.ts';
export { generateIstioResources, istioDuration, istioWeightsFor } from './istio/istio-resources.ts';
export type { IstioResource } from './istio/istio-validate.ts';
export { assertValidIstioResources, validateIstioResources } from './istio/istio-validate.ts';
export { istioFileName, toIstioJson, toIstioYaml } from './istio/istio-yaml.ts';
export type {
  MeshClusterOptions,
  MeshConfig,
  MeshRouteOptions,
  ResolvedMeshCluster,
  ResolvedMeshConfig,
  ResolvedMeshRoute,
} from './mesh-config.ts';
export { clusterOf, LbPolicy, meshConfigSchema, resolveMeshConfig, servicesOf } from './mesh-config.ts';
export { discoverySnapshotSource } from './xds/discovery-snapshot-source.ts';
export type { RegistrySnapshotSourceOptions } from './xds/registry-snapshot-source.ts';
export { registrySnapshotSource } from './xds/registry-snapshot-source.ts';
export type { XdsServicePolicy } from './xds/resources.ts';
export type {
  XdsAckEvent,
  XdsEvent,
  XdsIgnoredEvent,
  XdsLogger,
  XdsNackEvent,
  XdsNode,
  XdsResponseEvent,
  XdsServiceMap,
  XdsSnapshotEvent,
  XdsSnapshotSource,
  XdsSourceSubscription,
  XdsStreamClosedEvent,
  XdsStreamOpenedEvent,
} from './xds/types.ts';
export { isXdsTypeUrl, XdsEventType, XdsTypeUrl, xdsTypeUrls } from './xds/types.ts';
export type { ResolvedXdsAuthOptions, XdsAuthOptions, XdsCallGate } from './xds-auth.ts';
export {
  createXdsCallGate,
  requireXdsAuthWhenExposed,
  XdsAuthRefusal,
  xdsAuthSchema,
  xdsServerCredentials,
} from './xds-auth.ts';
export type { ResolvedXdsServerOptions, XdsServerOptions, XdsServiceOptions } from './xds-options.ts';
export { resolveXdsServerOptions, xdsServerOptionsSchema, xdsServiceOptionsSchema } from './xds-options.ts';
export type { XdsServer } from './xds-server.ts';
export { createXdsServer } from './xds-server.ts';
