/**
 * The protos the xDS server encodes with: the same Envoy v3 root the validator loads (once per
 * process, from the copies `@grpc/grpc-js-xds` ships), which holds the ADS service and the
 * Listener, RouteConfiguration, Cluster and ClusterLoadAssignment types with the filters we emit.
 */
import type protobuf from 'protobufjs';
import { loadEnvoyProtos } from '../envoy-protos.ts';

/** The include folders of Envoy's, xDS's, googleapis' and PGV's protos, for proto-loader. */
export function envoyProtoIncludeDirs(): readonly string[] {
  return loadEnvoyProtos().includeDirs;
}

/** The protobufjs root, field names as in the .proto files (`snake_case`). */
export function xdsProtoRoot(): protobuf.Root {
  return loadEnvoyProtos().root;
}

/** The message type `name` (fully qualified, without a leading dot) from {@link xdsProtoRoot}. */
export function xdsType(name: string): protobuf.Type {
  return xdsProtoRoot().lookupType(name);
}
