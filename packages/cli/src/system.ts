import { mkdirSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { formatDuration } from '@switchyard/core';
import { createDiscoveryClient, type Registry } from '@switchyard/discovery';
import { createGateway, type Gateway } from '@switchyard/gateway';
import { createXdsServer, registrySnapshotSource, type XdsServer, type XdsServerOptions } from '@switchyard/mesh';
import { globalMetrics } from '@switchyard/telemetry';
import { createRedRecorder } from './admin/red-recorder.ts';
import { registryServices } from './admin/registry-services.ts';
import { startUpAdmin, type UpAdmin } from './admin/up-admin.ts';
import type { ManagedInstance } from './child-process.ts';
import type { SwitchyardConfig } from './config-schema.ts';
import type { LoadedConfig } from './load-config.ts';
import { gatewayRateLimitStores } from './rate-limit-stores.ts';
import { gatewayRolloutStores } from './rollout-stores.ts';
import { renderTable, type StatusRow } from './status-table.ts';
import type { InstanceState, Supervisor } from './supervisor.ts';
import { createSupervisorLog, type LogFormat } from './supervisor-log.ts';
import { createSystemSupervisor, statusRows } from './supervisor-system.ts';
import { resolveUpMtls, type SystemMtls, startSystemMtls } from './system-mtls.ts';
import { instanceBackendEnv, type SystemRegistry, startSystemRegistry } from './system-registry.ts';
import { type SystemTelemetry, startSystemTelemetry } from './system-telemetry.ts';

/** Where the supervisor prints. */
export interface SystemOutput {
  /** Receives the supervisor's own lines and every child's prefixed output. */
  readonly write: (text: string) => void;
  /** Colour service prefixes (on for a terminal). */
  readonly colour: boolean;
  /** `text` (prefixed lines) or `json` (one object per line). @default "text" */
  readonly logFormat?: LogFormat | undefined;
}

/** What a started system exposes: its URLs and its instances. */
export interface RunningSystem {
  readonly registryUrl: string;
  readonly gatewayUrl: string;
  /** `http://host:port/metrics` of the embedded components, when `telemetry.metrics` serves one. */
  readonly metricsUrl?: string | undefined;
  /** `http://host:port` of the admin API (and dashboard), unless `admin: false`. */
  readonly adminUrl?: string | undefined;
  /** `host:port` of the xDS server (a gRPC bootstrap's `server_uri`), with an `xds:` section. */
  readonly xdsAddress?: string | undefined;
  readonly dataDir: string;
  /** The current process of every instance (a restarted instance has a new one). */
  readonly instances: readonly ManagedInstance[];
  /** The status table rows at the moment everything turned healthy. */
  readonly rows: readonly StatusRow[];
  /** A snapshot of every instance: pid, restarts, state, last exit. */
  instanceStates(): InstanceState[];
  /** Stops every instance (SIGTERM, then SIGKILL after `shutdownTimeout`), the gateway and the registry. */
  stop(): Promise<void>;
}

/**
 * Starts a whole system from a loaded config: the embedded registry and its Consul-compatible
 * API, the gateway, then every service instance as a child process, and waits until each
 * instance's health check passes in the registry.
 *
 * @throws SwitchyardError `SY_CLI_SERVICE_FAILED` when an instance exits during start-up (with its
 *   last output), `SY_CLI_CRASH_LOOP` when one crash-loops during start-up under the `always`
 *   restart policy, `SY_CLI_STARTUP_TIMEOUT` when not all are healthy in time; everything already
 *   started is stopped before the error is thrown
 */
export async function startSystem(loaded: LoadedConfig, output: SystemOutput): Promise<RunningSystem> {
  const { config, baseDir } = loaded;
  const started = Date.now();
  const cleanups: Array<() => Promise<void>> = [];
  let supervisor: Supervisor | undefined;
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Dependents first, then what they depend on; nothing restarts from here on.
    await supervisor?.stop();
    for (const cleanup of cleanups.reverse()) await cleanup();
  };

  try {
    const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(baseDir, config.dataDir);
    mkdirSync(dataDir, { recursive: true });
    // First, so the registry and gateway built below record into the real metrics and tracer.
    let telemetry: SystemTelemetry | undefined;
    // With the admin API on, traces are kept for it even without a `telemetry:` section.
    if (config.telemetry !== undefined || config.admin !== false) {
      const started = await startSystemTelemetry(config.telemetry);
      telemetry = started;
      cleanups.push(() => started.close());
    }
    // The registry `registry:` names: embedded (served here) or external (consul, etcd: no server
    // here; `registry` is then a mirror of it for the supervisor, status table and admin API).
    const systemRegistry: SystemRegistry = await startSystemRegistry({
      config: config.registry,
      dataDir,
      services: [
        ...new Set([
          ...Object.keys(config.services),
          ...config.gateway.routes.flatMap((route) => (route.service === undefined ? [] : [route.service])),
        ]),
      ],
    });
    cleanups.push(() => systemRegistry.close());
    const registry: Registry = systemRegistry.registry;
    // With `xds:`, Envoy and proxyless gRPC clients follow the same registry.
    let xds: XdsServer | undefined;
    if (config.xds !== undefined) {
      // The section was validated with the server's own schema; drop the keys it left undefined.
      const options = Object.fromEntries(Object.entries(config.xds).filter(([, v]) => v !== undefined));
      const server = await createXdsServer({
        ...(options as Omit<XdsServerOptions, 'source'>),
        source: registrySnapshotSource(registry),
        // Counted in `switchyard_xds_auth_refused_total{reason}`, served on the admin `/metrics`.
        onAuthRefused: (reason) => globalMetrics().controlPlane.xdsAuthRefused(reason),
      });
      xds = server;
      cleanups.push(() => server.close());
    }
    const registryUrl = systemRegistry.instanceUrl;
    const backendEnv = instanceBackendEnv(config, dataDir);
    // With `mtls:`, a local CA issues the gateway and every instance a renewed SPIFFE certificate.
    const mtlsConfig = resolveUpMtls(config);
    let mtls: SystemMtls | undefined;
    if (mtlsConfig !== undefined) {
      const started = await startSystemMtls({
        mtls: mtlsConfig,
        dataDir,
        instances: Object.entries(config.services).flatMap(([service, svc]) =>
          Array.from({ length: svc.replicas }, (_, i) => ({ service, id: `${service}-${i + 1}` })),
        ),
        onError: (message) =>
          createSupervisorLog({ format: output.logFormat ?? 'text', write: output.write }).log('warn', message),
      });
      mtls = started;
      cleanups.push(() => started.close());
    }
    telemetry?.watchRegistry(registry);

    const discovery = createDiscoveryClient({ source: systemRegistry.source });
    cleanups.push(async () => discovery.close());
    const red = config.admin === false ? undefined : createRedRecorder();
    const gateway: Gateway = await createGateway({
      options: config.gateway,
      discovery,
      rateLimitStores: gatewayRateLimitStores(),
      rolloutStores: gatewayRolloutStores(),
      ...(red === undefined ? {} : { onResponse: red.record }),
      ...(mtls === undefined ? {} : { mtls: { identity: mtls.gatewayIdentity, expect: mtls.gatewayExpect } }),
    });
    cleanups.push(() => gateway.close());
    const admin: UpAdmin | undefined = await startUpAdmin({
      config,
      dataDir,
      gatewayUrl: gateway.url,
      registryUrl,
      startedAt: started,
      gateway: gateway.admin,
      services: registryServices(registry),
      supervisor: (id) => supervisor?.instanceStates().find((i) => i.id === id),
      red,
      spanStore: telemetry?.spanStore,
      log: (line) =>
        createSupervisorLog({ format: output.logFormat ?? 'text', write: output.write }).log('error', line),
    });
    if (admin !== undefined) cleanups.push(() => admin.close());

    const { supervisor: created, log } = createSystemSupervisor({
      config,
      baseDir,
      registry,
      write: output.write,
      colour: output.colour,
      logFormat: output.logFormat,
      env: (service, id, own) => ({
        // With `telemetry:`: OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME; the service's `env` wins.
        ...(telemetry ? { ...telemetry.env, OTEL_SERVICE_NAME: service } : {}),
        // Embedded tracing: the instances export their spans to the admin API.
        ...admin?.childEnv,
        ...own,
        PORT: '0',
        SWITCHYARD_HOST: '127.0.0.1',
        SWITCHYARD_SERVICE_NAME: service,
        SWITCHYARD_INSTANCE_ID: id,
        SWITCHYARD_REGISTRY_URL: registryUrl,
        // With `registry.acl`, instances register with its first write token.
        ...registryTokenEnv(config.registry),
        SWITCHYARD_DATA_DIR: dataDir,
        ...backendEnv,
        // SWITCHYARD_TLS_* and SWITCHYARD_MTLS_ALLOW: read by startService.
        ...mtls?.envFor(service, id),
      }),
    });
    supervisor = created;
    log.log('info', `starting ${config.name}: registry ${systemRegistry.description}, gateway ${gateway.url}`);
    await created.start();

    const rows = statusRows(created, registry);
    const firstRoute = config.gateway.routes[0];
    const summary = [
      '',
      `switchyard: ${config.name} is up in ${formatDuration(Date.now() - started)}`,
      '',
      renderTable(rows),
      '',
      `  gateway   ${gateway.url}`,
      `  registry  ${systemRegistry.description}`,
      ...(telemetry?.metricsUrl ? [`  metrics   ${telemetry.metricsUrl}`] : []),
      ...(admin ? [`  admin     ${admin.url}`, `  dashboard ${admin.url}/`] : []),
      ...(xds ? [`  xds       ${xds.address}  (ADS, xDS v3)`] : []),
      ...(firstRoute ? [`\n  try: curl -s ${gateway.url}${firstRoute.path}`] : []),
      '\n  Ctrl-C stops everything.',
    ];
    log.block(summary.join('\n'), {
      gateway: gateway.url,
      registry: registryUrl,
      ...(admin ? { admin: admin.url } : {}),
      ...(xds ? { xds: xds.address } : {}),
      instances: created.instanceStates(),
    });

    return {
      registryUrl,
      gatewayUrl: gateway.url,
      metricsUrl: telemetry?.metricsUrl,
      adminUrl: admin?.url,
      xdsAddress: xds?.address,
      dataDir,
      get instances() {
        return created.instances();
      },
      rows,
      instanceStates: () => created.instanceStates(),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `SWITCHYARD_REGISTRY_TOKEN` for instances when the embedded registry has an ACL: its first write token. */
function registryTokenEnv(registry: SwitchyardConfig['registry']): Record<string, string> {
  if (registry.backend !== 'embedded' || registry.acl === undefined) return {};
  const writer = registry.acl.tokens.find((entry) => entry.policy === 'write');
  return writer === undefined ? {} : { SWITCHYARD_REGISTRY_TOKEN: writer.token };
}
