import { resolveOptions, zPort } from '@switchyard/core';
import * as z from 'zod';
import { buildCluster, buildXdsCluster, EndpointSource } from './envoy-clusters.ts';
import { buildHttpListener } from './envoy-listeners.ts';
import { buildRouteConfiguration } from './envoy-routes.ts';
import { assertValidEnvoyConfig } from './envoy-validate.ts';
import { defined, type EnvoyJson, socketAddress } from './internal/envoy-json.ts';
import { clusterOf, type MeshConfig, resolveMeshConfig, servicesOf } from './mesh-config.ts';

/**
 * What the generated Envoy is: the front proxy of the system (the gateway's place) or the
 * sidecar next to one service.
 */
export const EnvoyMode = {
  FrontProxy: 'front-proxy',
  Sidecar: 'sidecar',
} as const;
export type EnvoyMode = (typeof EnvoyMode)[keyof typeof EnvoyMode];

/** Name of the cluster that reaches the xDS server in `eds` mode. */
export const XDS_CLUSTER = 'xds_cluster';

const port = zPort().refine((p) => p > 0, 'expected a port 1..65535');

/**
 * Schema of {@link EnvoyBootstrapOptions}.
 *
 * @example
 * ```ts
 * envoyBootstrapOptionsSchema.parse({ mode: 'sidecar', sidecar: { service: 'orders', appPort: 3000 } });
 * ```
 */
export const envoyBootstrapOptionsSchema = z
  .strictObject({
    mode: z.enum([EnvoyMode.FrontProxy, EnvoyMode.Sidecar]).default(EnvoyMode.FrontProxy),
    endpoints: z.enum([EndpointSource.Static, EndpointSource.Eds]).default(EndpointSource.Static),
    /** The ADS server for `endpoints: "eds"`. */
    xds: z.strictObject({ host: z.string().min(1), port }).optional(),
    /** Envoy's admin interface, or `false` for none. */
    admin: z
      .union([
        z.literal(false),
        z.strictObject({ address: z.string().min(1).default('127.0.0.1'), port: zPort().default(9901) }),
      ])
      .default({ address: '127.0.0.1', port: 9901 }),
    /** The service this sidecar runs next to; required in `sidecar` mode. */
    sidecar: z
      .strictObject({
        service: z.string().min(1),
        /** Port of the service itself, which inbound traffic is forwarded to. */
        appPort: port,
        appAddress: z.string().min(1).default('127.0.0.1'),
        /** Port taking traffic for the service from the mesh. */
        inboundPort: port.default(15006),
        /** Port the service calls other services through (on 127.0.0.1). */
        outboundPort: port.default(15001),
      })
      .optional(),
    /** Envoy's node id. @default "<name>-front-proxy" or "<service>-sidecar" */
    nodeId: z.string().min(1).optional(),
    /** Log each request to stdout. */
    accessLog: z.boolean().default(true),
  })
  .superRefine((options, ctx) => {
    if (options.endpoints === EndpointSource.Eds && options.xds === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['xds'],
        message: 'required when endpoints is "eds" (host and port of the xDS server)',
      });
    }
    if (options.mode === EnvoyMode.Sidecar && options.sidecar === undefined) {
      ctx.addIssue({ code: 'custom', path: ['sidecar'], message: 'required in sidecar mode (service and appPort)' });
    }
  });

/** Options of {@link generateEnvoyBootstrap}. */
export type EnvoyBootstrapOptions = z.input<typeof envoyBootstrapOptionsSchema>;

/**
 * Generates an Envoy v3 bootstrap (`envoy.config.bootstrap.v3.Bootstrap` as JSON) from a mesh
 * config, and checks it against Envoy's protos before returning it.
 *
 * - `front-proxy`: one listener (`mesh.listener`, default `0.0.0.0:8080`) routing to every service.
 * - `sidecar`: an `inbound` listener forwarding to the service on `appPort`, and an `outbound`
 *   listener on `127.0.0.1:outboundPort` routing the service's calls to the others.
 * - `endpoints: "static"` lists each cluster's `endpoints`; `"eds"` makes every service cluster
 *   EDS over one ADS stream to `xds` (`dynamic_resources.ads_config`, cluster `xds_cluster`).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad mesh config or options (by field path);
 *   `SY_MESH_ENVOY_INVALID` if the result does not validate (a bug: please report it)
 * @example
 * ```ts
 * const bootstrap = generateEnvoyBootstrap(
 *   { routes: [{ match: { prefix: '/api/orders' }, service: 'orders', timeout: '5s' }],
 *     clusters: { orders: { endpoints: [{ address: '10.0.0.5', port: 3000 }] } } },
 *   { mode: 'front-proxy', endpoints: 'static' },
 * );
 * console.log(toEnvoyYaml(bootstrap));
 * ```
 */
export function generateEnvoyBootstrap(config: MeshConfig, options: EnvoyBootstrapOptions = {}): EnvoyJson {
  const mesh = resolveMeshConfig(config);
  const opts = resolveOptions(envoyBootstrapOptionsSchema, options, 'options');
  const source = opts.endpoints;
  const cluster = (service: string) => clusterOf(mesh, service);
  const services = servicesOf(mesh);

  const listeners: EnvoyJson[] = [];
  const clusters: EnvoyJson[] = [];
  let nodeId: string;
  let nodeCluster = mesh.name;
  const routeConfig = (name: string) => buildRouteConfiguration(name, mesh.routes, cluster);
  if (opts.mode === EnvoyMode.Sidecar && opts.sidecar !== undefined) {
    const sc = opts.sidecar;
    const local = `local_${sc.service}`;
    nodeId = opts.nodeId ?? `${sc.service}-sidecar`;
    nodeCluster = sc.service;
    listeners.push(
      buildHttpListener({
        name: 'inbound',
        address: '0.0.0.0',
        port: sc.inboundPort,
        accessLog: opts.accessLog,
        routeConfig: buildRouteConfiguration(
          'inbound',
          [{ name: 'inbound', match: { prefix: '/' }, service: local }],
          () => cluster(sc.service),
        ),
      }),
      buildHttpListener({
        name: 'outbound',
        address: '127.0.0.1',
        port: sc.outboundPort,
        accessLog: opts.accessLog,
        routeConfig: routeConfig('outbound'),
      }),
    );
    clusters.push(
      buildCluster(
        local,
        { ...cluster(sc.service), endpoints: [{ address: sc.appAddress, port: sc.appPort }], healthCheck: undefined },
        EndpointSource.Static,
      ),
    );
  } else {
    nodeId = opts.nodeId ?? `${mesh.name}-front-proxy`;
    listeners.push(
      buildHttpListener({
        name: 'ingress',
        address: mesh.listener.address,
        port: mesh.listener.port,
        accessLog: opts.accessLog,
        edge: true,
        routeConfig: routeConfig('ingress'),
      }),
    );
  }
  for (const service of services) clusters.push(buildCluster(service, cluster(service), source));
  if (source === EndpointSource.Eds && opts.xds !== undefined) {
    clusters.push(buildXdsCluster(XDS_CLUSTER, opts.xds.host, opts.xds.port));
  }

  const bootstrap = defined({
    node: { id: nodeId, cluster: nodeCluster },
    admin: opts.admin === false ? undefined : { address: socketAddress(opts.admin.address, opts.admin.port) },
    static_resources: { listeners, clusters },
    dynamic_resources:
      source === EndpointSource.Eds
        ? {
            ads_config: {
              api_type: 'GRPC',
              transport_api_version: 'V3',
              grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }],
            },
          }
        : undefined,
  });
  assertValidEnvoyConfig(bootstrap);
  return bootstrap;
}
