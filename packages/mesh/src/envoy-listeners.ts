import { defined, type EnvoyJson, socketAddress, typeUrl } from './internal/envoy-json.ts';

/** Options of {@link buildHttpListener}. */
export interface HttpListenerOptions {
  /** Listener name, also the HCM stat prefix. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** The inline route configuration (from `buildRouteConfiguration`). */
  readonly routeConfig: EnvoyJson;
  /** Log each request to stdout. @default true */
  readonly accessLog?: boolean;
  /** Trust the peer address as the client's (a front proxy facing clients). @default false */
  readonly edge?: boolean;
}

const hcm = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const router = 'envoy.extensions.filters.http.router.v3.Router';
const stdoutLog = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';

/**
 * Builds an Envoy `Listener` (`envoy.config.listener.v3.Listener`) whose one filter chain is the
 * HTTP connection manager with an inline route configuration and the router filter last, as
 * Envoy requires.
 *
 * @example
 * ```ts
 * buildHttpListener({ name: 'ingress', address: '0.0.0.0', port: 8080, routeConfig });
 * ```
 */
export function buildHttpListener(options: HttpListenerOptions): EnvoyJson {
  const manager = defined({
    '@type': typeUrl(hcm),
    stat_prefix: options.name,
    codec_type: 'AUTO',
    use_remote_address: options.edge === true ? true : undefined,
    access_log:
      options.accessLog === false
        ? undefined
        : [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': typeUrl(stdoutLog) } }],
    route_config: options.routeConfig,
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': typeUrl(router) } }],
  });
  return {
    name: options.name,
    address: socketAddress(options.address, options.port),
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: manager }] }],
  };
}
