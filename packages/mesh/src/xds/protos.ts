/**
 * Envoy's v3 protos, loaded once per process with protobufjs from the copies `@grpc/grpc-js-xds`
 * ships in its `deps/` folder (the only installed package that has them). Only the entry files the
 * ADS server needs are loaded (about 300 files with their imports), never the whole tree: a few
 * of its files import protos the package lacks (opencensus, prometheus).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

/** The entry files: the ADS service and the four resource types with the filters we emit. */
const entryFiles = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
] as const;

/** The folders of `@grpc/grpc-js-xds` holding Envoy's, xDS's, googleapis' and PGV's protos. */
export function envoyProtoIncludeDirs(): readonly string[] {
  const require = createRequire(import.meta.url);
  // `main` is build/src/index.js; the protos sit in deps/ at the package root.
  const root = join(dirname(require.resolve('@grpc/grpc-js-xds')), '..', '..');
  const protobufjsRoot = dirname(require.resolve('protobufjs/package.json'));
  return [
    join(root, 'deps', 'envoy-api'),
    join(root, 'deps', 'xds'),
    join(root, 'deps', 'googleapis'),
    join(root, 'deps', 'protoc-gen-validate'),
    // google/protobuf/descriptor.proto (the other well-known types are built into protobufjs).
    protobufjsRoot,
  ];
}

let cached: protobuf.Root | undefined;

/**
 * The protobufjs root with the ADS service and the Listener, RouteConfiguration, Cluster and
 * ClusterLoadAssignment types, field names as in the .proto files (`snake_case`). Loaded on first
 * use (a few hundred milliseconds) and shared.
 */
export function xdsProtoRoot(): protobuf.Root {
  if (cached !== undefined) return cached;
  const dirs = envoyProtoIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync([...entryFiles], { keepCase: true });
  root.resolveAll();
  cached = root;
  return root;
}

/** The message type `name` (fully qualified, without a leading dot) from {@link xdsProtoRoot}. */
export function xdsType(name: string): protobuf.Type {
  return xdsProtoRoot().lookupType(name);
}
