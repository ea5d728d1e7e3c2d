import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import { meshError } from './errors.ts';

/**
 * The `.proto` entry files loaded for validation: the bootstrap (which pulls in listeners,
 * clusters, endpoints, routes, health checks and the config sources), plus every extension a
 * generated config names in a typed `Any`. Envoy's other 370-odd files are not needed, and ten
 * of them cannot load anyway (their imports are not shipped).
 */
export const envoyProtoEntryFiles = Object.freeze([
  'envoy/config/bootstrap/v3/bootstrap.proto',
  // The ADS service the xDS server implements (its requests and responses).
  'envoy/service/discovery/v3/ads.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
]);

/** Envoy's v3 message descriptors, loaded once per process. */
export interface EnvoyProtos {
  /** The protobufjs root holding every loaded type, resolved. */
  readonly root: protobuf.Root;
  /** How long parsing the `.proto` files took, in milliseconds. */
  readonly loadMs: number;
  /** The include directories searched, in order. */
  readonly includeDirs: readonly string[];
}

let cached: EnvoyProtos | undefined;

/**
 * Loads Envoy's v3 protos shipped in `@grpc/grpc-js-xds`'s `deps/` folder (Envoy API, xDS,
 * googleapis, protoc-gen-validate) with protobufjs, keeping proto field names. The result is
 * cached, so only the first call pays (about 0.3 s).
 *
 * @throws SwitchyardError `SY_MESH_ENVOY_PROTOS_MISSING` when the files cannot be found or parsed
 * @example
 * ```ts
 * const { root, loadMs } = loadEnvoyProtos();
 * root.lookupType('envoy.config.cluster.v3.Cluster').fields.name?.options;
 * // { '(validate.rules).string.min_len': 1 }
 * ```
 */
export function loadEnvoyProtos(): EnvoyProtos {
  if (cached !== undefined) return cached;
  const includeDirs = protoIncludeDirs();
  const started = performance.now();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (isAbsolute(target)) return target;
    for (const dir of includeDirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  try {
    root.loadSync([...envoyProtoEntryFiles], { keepCase: true });
    root.resolveAll();
  } catch (err) {
    throw meshError('SY_MESH_ENVOY_PROTOS_MISSING', `cannot load Envoy's protos: ${(err as Error).message}`, {
      cause: err,
      details: { includeDirs: [...includeDirs] },
    });
  }
  cached = Object.freeze({ root, loadMs: performance.now() - started, includeDirs: Object.freeze(includeDirs) });
  return cached;
}

function protoIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  let xds: string;
  let protobufDir: string;
  try {
    xds = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
    protobufDir = dirname(require.resolve('protobufjs/package.json'));
  } catch (err) {
    throw meshError(
      'SY_MESH_ENVOY_PROTOS_MISSING',
      `cannot find @grpc/grpc-js-xds or protobufjs (npm i @grpc/grpc-js-xds protobufjs): ${(err as Error).message}`,
      { cause: err },
    );
  }
  // protobufjs holds google/protobuf/descriptor.proto; its other well-known types are built in.
  return [...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(xds, d)), protobufDir];
}

let messageFiles: Map<string, string> | undefined;

/**
 * A message type by full name (`envoy.extensions.filters.http.cors.v3.Cors`), loading the
 * `.proto` file that declares it when it is not loaded yet, so an `Any` may name any extension
 * Envoy's shipped protos hold. The first miss indexes the files (about 0.15 s, once).
 *
 * @returns `undefined` when no shipped file declares the type, or its file cannot load (ten
 *   files import protos the package does not ship)
 * @example
 * ```ts
 * loadEnvoyMessageType('envoy.extensions.filters.http.cors.v3.Cors')?.fullName;
 * // '.envoy.extensions.filters.http.cors.v3.Cors'
 * ```
 */
export function loadEnvoyMessageType(fullName: string): protobuf.Type | undefined {
  const { root, includeDirs } = loadEnvoyProtos();
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  const found = lookupMessage(root, name);
  if (found !== undefined) return found;
  messageFiles ??= indexMessageFiles(includeDirs.slice(0, 2));
  const file = messageFiles.get(name);
  if (file === undefined) return undefined;
  try {
    root.loadSync(file, { keepCase: true });
    root.resolveAll();
  } catch {
    return undefined;
  }
  return lookupMessage(root, name);
}

function lookupMessage(root: protobuf.Root, name: string): protobuf.Type | undefined {
  const found = root.lookup(`.${name}`);
  return found instanceof protobuf.Type ? found : undefined;
}

/** Which file declares each message, by reading `package` and top-level `message` lines. */
function indexMessageFiles(dirs: readonly string[]): Map<string, string> {
  const index = new Map<string, string>();
  for (const dir of dirs) {
    for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      if (!entry.endsWith('.proto')) continue;
      const text = readFileSync(join(dir, entry), 'utf8');
      const pkg = /^package\s+([\w.]+)\s*;/m.exec(text)?.[1];
      if (pkg === undefined) continue;
      for (const match of text.matchAll(/^message\s+(\w+)/gm)) index.set(`${pkg}.${match[1]}`, entry);
    }
  }
  return index;
}
