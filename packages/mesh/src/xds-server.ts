/**
 * The xDS control plane: an Aggregated Discovery Service (xDS v3, state of the world) over
 * `@grpc/grpc-js`, serving a Listener, RouteConfiguration, Cluster and ClusterLoadAssignment per
 * service, built from an {@link XdsSnapshotSource}. Proxyless gRPC clients (`@grpc/grpc-js-xds`,
 * grpc-go, grpc-java) and Envoy both speak it.
 */
import * as grpc from '@grpc/grpc-js';
import { type Clock, type ServiceInstance, systemClock } from '@switchyard/core';
import { meshError } from './errors.ts';
import { type AdsRequest, type AdsResponse, type AdsStream, createAdsStream } from './xds/ads-stream.ts';
import { xdsType } from './xds/protos.ts';
import { createSnapshotCache, type ServiceEntry } from './xds/snapshot-cache.ts';
import type { XdsEvent, XdsLogger, XdsServiceMap, XdsTypeUrl } from './xds/types.ts';
import { createXdsCallGate, xdsServerCredentials } from './xds-auth.ts';
import { type ResolvedXdsServerOptions, resolveXdsServerOptions, type XdsServerOptions } from './xds-options.ts';

/** A running xDS server. */
export interface XdsServer extends AsyncDisposable {
  /** The host it listens on. */
  readonly host: string;
  /** The port it listens on (the chosen one when `port: 0`). */
  readonly port: number;
  /** `host:port`, as a gRPC bootstrap's `server_uri` takes it. */
  readonly address: string;
  /** The current version of each resource type (`'0'` before the source reported anything). */
  versions(): Readonly<Record<XdsTypeUrl, string>>;
  /** Open ADS streams. */
  readonly streams: number;
  /** Calls `listener` with every {@link XdsEvent}; dispose to stop. */
  onEvent(listener: (event: XdsEvent) => void): Disposable;
  /**
   * Stops following the source, ends every stream with status OK and stops listening, waiting up
   * to `shutdownTimeout` for streams to finish before cutting them; idempotent.
   */
  close(): Promise<void>;
}

const adsPath = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

function adsService(): grpc.ServiceDefinition {
  const requestType = xdsType('envoy.service.discovery.v3.DiscoveryRequest');
  const responseType = xdsType('envoy.service.discovery.v3.DiscoveryResponse');
  const method: grpc.MethodDefinition<AdsRequest, AdsResponse> = {
    path: adsPath,
    requestStream: true,
    responseStream: true,
    requestSerialize: (value) => Buffer.from(requestType.encode(requestType.fromObject(value)).finish()),
    requestDeserialize: (bytes) =>
      requestType.toObject(requestType.decode(bytes), { defaults: true, longs: String, enums: String }) as AdsRequest,
    responseSerialize: (value) => Buffer.from(responseType.encode(responseType.fromObject(value)).finish()),
    responseDeserialize: (bytes) =>
      responseType.toObject(responseType.decode(bytes), {
        defaults: true,
        longs: String,
        enums: String,
      }) as AdsResponse,
  };
  // DeltaAggregatedResources is not registered, so gRPC answers it UNIMPLEMENTED.
  return { StreamAggregatedResources: method };
}

const defaultLogger: XdsLogger = {
  warn(fields, message) {
    process.emitWarning(message, { type: 'SwitchyardMeshWarning', detail: JSON.stringify(fields) });
  },
};

function bind(server: grpc.Server, host: string, port: number, credentials: grpc.ServerCredentials): Promise<number> {
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, credentials, (err, bound) => {
      if (err) {
        reject(meshError('SY_MESH_XDS_BIND_FAILED', `xds: cannot listen on ${target}: ${err.message}`, { cause: err }));
      } else resolve(bound);
    });
  });
}

/** Combines the source's services with the configured ones and their policies. */
function entriesOf(services: XdsServiceMap, resolved: ResolvedXdsServerOptions): Map<string, ServiceEntry> {
  const entries = new Map<string, ServiceEntry>();
  const none: readonly ServiceInstance[] = [];
  if (resolved.services === undefined) {
    for (const [name, instances] of services) entries.set(name, { policy: resolved.defaultPolicy, instances });
  } else {
    for (const [name, policy] of resolved.services)
      entries.set(name, { policy, instances: services.get(name) ?? none });
  }
  return entries;
}

/**
 * Starts an ADS server for the services of `options.source`. Each service gets a Listener,
 * RouteConfiguration, Cluster and ClusterLoadAssignment named after it, so a proxyless gRPC
 * client whose bootstrap points here dials `xds:///<service>`. Source changes are pushed to every
 * stream within `debounce` (one version for a burst of changes); a version a client NACKs is
 * logged once and not sent to that client again.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the bad option, `SY_MESH_XDS_BIND_FAILED`
 * @example
 * ```ts
 * import { createRegistry } from '@switchyard/discovery';
 * import { createXdsServer, registrySnapshotSource } from '@switchyard/mesh';
 *
 * const registry = createRegistry();
 * registry.register({ Name: 'greeter', ID: 'greeter-1', Address: '127.0.0.1', Port: 50051 });
 * const xds = await createXdsServer({ source: registrySnapshotSource(registry) }); // 127.0.0.1:18000
 * // client: GRPC_XDS_BOOTSTRAP_CONFIG='{"xds_servers":[{"server_uri":"127.0.0.1:18000",
 * //   "channel_creds":[{"type":"insecure"}]}],"node":{"id":"me"}}', then dial xds:///greeter
 * await xds.close();
 * ```
 */
export async function createXdsServer(options: XdsServerOptions): Promise<XdsServer> {
  const resolved = resolveXdsServerOptions(options);
  const clock: Clock = options.clock ?? systemClock;
  const logger = options.logger ?? defaultLogger;
  const cache = createSnapshotCache();
  const listeners = new Set<(event: XdsEvent) => void>();
  if (options.onEvent !== undefined) listeners.add(options.onEvent);
  const streams = new Map<number, { stream: AdsStream; call: grpc.ServerDuplexStream<AdsRequest, AdsResponse> }>();
  let nextStreamId = 1;
  let nonce = 0;
  let closed = false;

  const emit = (event: XdsEvent) => {
    if (event.type === 'nack') {
      logger.warn(
        {
          streamId: event.streamId,
          node: event.node.id,
          typeUrl: event.typeUrl,
          version: event.version,
          error: event.message,
        },
        `xds: client ${event.node.id || `stream ${event.streamId}`} rejected ${event.typeUrl} version ${event.version}: ${event.message}`,
      );
    }
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : String(err), 'SwitchyardMeshWarning');
      }
    }
  };

  const server = new grpc.Server();
  const gate = createXdsCallGate(resolved.auth, options.onAuthRefused);
  server.addService(adsService(), {
    StreamAggregatedResources(call: grpc.ServerDuplexStream<AdsRequest, AdsResponse>) {
      if (!gate.admit(call)) return;
      const id = nextStreamId++;
      if (closed) {
        call.end();
        return;
      }
      const stream = createAdsStream({
        id,
        cache,
        nextNonce: () => String(++nonce),
        send: (response) => call.write(response),
        emit,
      });
      streams.set(id, { stream, call });
      emit({ type: 'stream_opened', streamId: id, peer: call.getPeer() });
      let ended = false;
      const finish = () => {
        if (ended) return;
        ended = true;
        streams.delete(id);
        emit({ type: 'stream_closed', streamId: id, node: stream.node });
      };
      call.on('data', (request: AdsRequest) => stream.onRequest(request));
      call.on('end', () => {
        call.end();
        finish();
      });
      call.on('error', finish);
      call.on('cancelled', finish);
      call.on('close', finish);
    },
  });

  // Debounced rebuild: the first change of a burst arms one timer; the state read when it fires
  // is the latest, so a burst becomes one version, at most `debounce` after its first change.
  let latest: XdsServiceMap | undefined;
  let cancelTimer: (() => void) | undefined;
  const rebuild = () => {
    cancelTimer = undefined;
    if (closed || latest === undefined) return;
    let changed: XdsTypeUrl[];
    const entries = entriesOf(latest, resolved);
    try {
      changed = cache.update(entries);
    } catch (err) {
      const error = meshError('SY_MESH_XDS_SNAPSHOT_FAILED', `xds: cannot build resources: ${String(err)}`, {
        cause: err,
      });
      logger.warn({ code: error.code, error: error.message }, error.message);
      return;
    }
    emit({ type: 'snapshot', services: entries.size, versions: cache.versions(), changed });
    if (changed.length === 0) return;
    for (const { stream } of streams.values()) stream.onSnapshot(changed);
  };
  let first = true;
  const subscription = options.source.watch((services) => {
    latest = services;
    if (closed) return;
    if (first) {
      // The first state is served at once: clients starting with the server get answers without delay.
      first = false;
      rebuild();
    } else if (cancelTimer === undefined) {
      cancelTimer = clock.setTimeout(rebuild, resolved.debounceMs);
    }
  });

  let port: number;
  try {
    port = await bind(server, resolved.host, resolved.port, xdsServerCredentials(resolved.auth));
  } catch (err) {
    closed = true;
    subscription.dispose();
    cancelTimer?.();
    server.forceShutdown();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      closed = true;
      subscription.dispose();
      cancelTimer?.();
      for (const { call } of streams.values()) call.end();
      await new Promise<void>((resolve) => {
        // Real time, not the injected clock: this waits on sockets.
        const cancel = systemClock.setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, resolved.shutdownTimeoutMs);
        server.tryShutdown(() => {
          cancel();
          resolve();
        });
      });
    })();
    return closing;
  };

  const host = resolved.host;
  return {
    host,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    versions: () => cache.versions(),
    get streams() {
      return streams.size;
    },
    onEvent(listener) {
      listeners.add(listener);
      return { [Symbol.dispose]: () => listeners.delete(listener) };
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
