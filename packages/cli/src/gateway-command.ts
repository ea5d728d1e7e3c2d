import { readFileSync } from 'node:fs';
import { describeRegistry, openDiscoverySource, type RegistryConfig } from '@switchyard/backends';
import { type ConfigIssue, invalidConfig, isSwitchyardError } from '@switchyard/core';
import { createDiscoveryClient, type DiscoveryClient } from '@switchyard/discovery';
import { createGateway, type Gateway, type GatewayInput, type GatewayOptions } from '@switchyard/gateway';
import { parseDocument } from 'yaml';
import { ExitCode } from './commands.ts';
import { createJsonLogger, type JsonLogger } from './json-logger.ts';
import { type LoadedConfig, loadConfigFile } from './load-config.ts';
import { gatewayRateLimitStores } from './rate-limit-stores.ts';
import { gatewayRolloutStores } from './rollout-stores.ts';
import { type SystemTelemetry, startSystemTelemetry } from './system-telemetry.ts';
import type { UpTelemetryConfig } from './telemetry-config.ts';

/** Options of `switchyard gateway`. */
export interface GatewayCommandOptions {
  /** The config file (`switchyard.yaml` format). */
  readonly config: string;
  /** Consul-compatible registry URL; overrides `SWITCHYARD_REGISTRY_URL` and the file's `registry:`. */
  readonly registry?: string;
  /** `false` (`--no-admin`) runs no admin API. @default true */
  readonly admin?: boolean;
}

/** Where the admin API listens when the config has no `gateway.admin`. */
export const DEFAULT_ADMIN = { host: '127.0.0.1', port: 9901 } as const;

/**
 * `switchyard gateway -c gateway.yaml`: runs the gateway alone (no registry server, no child
 * processes), with the admin API, JSON log lines on stdout, SIGHUP to re-read the file and
 * SIGINT/SIGTERM for a graceful stop. Resolves with the exit code.
 */
export async function runGateway(opts: GatewayCommandOptions): Promise<ExitCode> {
  const logger = createJsonLogger('switchyard-gateway', (line) => process.stdout.write(line));
  let registryUrl: string | RegistryConfig | undefined;
  // The `telemetry:` section of the file read at start (changing it takes a restart).
  let telemetryConfig: UpTelemetryConfig | undefined;
  const read = (): GatewayOptions => {
    const loaded = loadConfigFile(opts.config);
    telemetryConfig ??= loaded.config.telemetry;
    for (const warning of loaded.warnings) logger.warn({ path: loaded.path }, warning);
    registryUrl ??= registryFor(loaded, opts);
    const routesNeedingRegistry = registryRoutes(loaded);
    if (registryUrl === undefined && routesNeedingRegistry.length > 0) {
      throw invalidConfig(
        routesNeedingRegistry.map(
          (at): ConfigIssue => ({
            path: at,
            message:
              'routes to a registry service, but no registry is configured: add a `registry:` section (host and port of a Consul-compatible registry), pass --registry <url> or set SWITCHYARD_REGISTRY_URL, or give the route `upstreams:`',
          }),
        ),
        loaded.path,
      );
    }
    return withAdmin(loaded.config.gateway, opts.admin !== false);
  };

  let options: GatewayOptions;
  try {
    options = read();
  } catch (err) {
    logFailure(logger, err, 'invalid config; the gateway was not started');
    return ExitCode.ConfigInvalid;
  }

  let discovery: DiscoveryClient | undefined;
  let gateway: Gateway | undefined;
  let telemetry: SystemTelemetry | undefined;
  let stopping = false;
  let stopRequested: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal; exiting at once');
      process.exit(ExitCode.Failed);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stopRequested();
  };
  const onReload = () => {
    if (gateway === undefined || stopping) return;
    logger.info({ signal: 'SIGHUP', config: opts.config }, 're-reading the config');
    try {
      // The gateway logs the new version itself ('gateway config reloaded').
      gateway.reload(read());
    } catch (err) {
      logFailure(logger, err, `config reload refused; still serving config version ${gateway.configVersion}`);
    }
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onReload);
  try {
    // Before the gateway is built: it resolves its metric handles then. The admin API serves
    // `/metrics`, so no separate metrics listener.
    if (telemetryConfig !== undefined) telemetry = await startSystemTelemetry({ ...telemetryConfig, metrics: false });
    discovery =
      registryUrl === undefined ? undefined : createDiscoveryClient({ source: await openDiscoverySource(registryUrl) });
    const input: GatewayInput = {
      options,
      discovery,
      logger,
      loadConfig: read,
      rateLimitStores: gatewayRateLimitStores(),
      rolloutStores: gatewayRolloutStores(),
    };
    gateway = await createGateway(input);
    if (registryUrl !== undefined)
      logger.info(
        { registry: typeof registryUrl === 'string' ? registryUrl : describeRegistry(registryUrl) },
        'service routes resolve through the registry',
      );
    await stopped;
    await gateway.close();
    return ExitCode.Ok;
  } catch (err) {
    logFailure(logger, err, 'gateway failed');
    await gateway?.close();
    return stopping ? ExitCode.Ok : ExitCode.Failed;
  } finally {
    await discovery?.close();
    await telemetry?.close();
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    process.off('SIGHUP', onReload);
  }
}

/**
 * The registry to read service instances from: `--registry`, else `SWITCHYARD_REGISTRY_URL`,
 * else the `registry:` section of the file when it is written out (the Consul-compatible API
 * `switchyard up` serves there, or any Consul agent). Left out, there is none.
 */
function registryFor(loaded: LoadedConfig, opts: GatewayCommandOptions): string | RegistryConfig | undefined {
  if (opts.registry !== undefined) return opts.registry;
  const fromEnv = process.env.SWITCHYARD_REGISTRY_URL;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  // The schema fills `registry` with defaults, so whether the file names one is read from the file.
  const written = parseDocument(readFileSync(loaded.path, 'utf8')).has('registry');
  if (!written) return undefined;
  // Any backend: the embedded registry's Consul API, Consul, etcd or Kubernetes.
  return loaded.config.registry;
}

/** Paths of routes that need a registry: a registry `service`, or an aggregate (its calls go to services). */
function registryRoutes(loaded: LoadedConfig): string[] {
  const paths: string[] = [];
  for (const [index, route] of loaded.config.gateway.routes.entries()) {
    if (route.aggregate !== undefined) paths.push(`gateway.routes[${index}].aggregate`);
    else if (route.service !== undefined && route.upstreams === undefined)
      paths.push(`gateway.routes[${index}].service`);
  }
  return paths;
}

function withAdmin(gateway: LoadedConfig['config']['gateway'], enabled: boolean): GatewayOptions {
  const options = gateway as GatewayOptions;
  if (!enabled) return { ...options, admin: undefined };
  return options.admin === undefined ? { ...options, admin: { ...DEFAULT_ADMIN } } : options;
}

function logFailure(logger: JsonLogger, err: unknown, msg: string): void {
  if (isSwitchyardError(err)) {
    const issues = Array.isArray(err.details.issues) ? err.details.issues : undefined;
    logger.error({ code: err.code, ...(issues === undefined ? {} : { issues }), error: err.message }, msg);
    return;
  }
  logger.error({ err }, msg);
}
