import { mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { formatDuration } from '@switchyard/core';
import {
  createDiscoveryClient,
  createRegistry,
  createRegistryServer,
  type Registry,
  type RegistryServer,
  registrySource,
} from '@switchyard/discovery';
import { createGateway, type Gateway } from '@switchyard/gateway';
import { type ManagedInstance, type OutputOptions, startInstance } from './child-process.ts';
import { cliError } from './errors.ts';
import type { LoadedConfig } from './load-config.ts';
import { gatewayRateLimitStores } from './rate-limit-stores.ts';
import { renderTable, type StatusRow } from './status-table.ts';
import { type SystemTelemetry, startSystemTelemetry } from './system-telemetry.ts';

/** Where the supervisor prints. */
export interface SystemOutput {
  /** Receives the supervisor's own lines and every child's prefixed output. */
  readonly write: (text: string) => void;
  /** Colour service prefixes (on for a terminal). */
  readonly colour: boolean;
}

/** What a started system exposes: its URLs and its instances. */
export interface RunningSystem {
  readonly registryUrl: string;
  readonly gatewayUrl: string;
  /** `http://host:port/metrics` of the embedded components, when `telemetry.metrics` serves one. */
  readonly metricsUrl?: string | undefined;
  readonly dataDir: string;
  readonly instances: readonly ManagedInstance[];
  /** The status table rows at the moment everything turned healthy. */
  readonly rows: readonly StatusRow[];
  /** Stops every instance (SIGTERM, then SIGKILL after `shutdownTimeout`), the gateway and the registry. */
  stop(): Promise<void>;
}

/**
 * Starts a whole system from a loaded config: the embedded registry and its Consul-compatible
 * API, the gateway, then every service instance as a child process, and waits until each
 * instance's health check passes in the registry.
 *
 * @throws SwitchyardError `SY_CLI_SERVICE_FAILED` when an instance exits during start-up (with its
 *   last output), `SY_CLI_STARTUP_TIMEOUT` when not all are healthy in time; everything already
 *   started is stopped before the error is thrown
 */
export async function startSystem(loaded: LoadedConfig, output: SystemOutput): Promise<RunningSystem> {
  const { config, baseDir } = loaded;
  const started = Date.now();
  const say = (line: string) => output.write(`${line}\n`);
  const cleanups: Array<() => Promise<void>> = [];
  const instances: ManagedInstance[] = [];
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(instances.map((i) => i.stop(config.shutdownTimeout)));
    for (const cleanup of cleanups.reverse()) await cleanup();
  };

  try {
    const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(baseDir, config.dataDir);
    mkdirSync(dataDir, { recursive: true });
    // First, so the registry and gateway built below record into the real metrics and tracer.
    let telemetry: SystemTelemetry | undefined;
    if (config.telemetry !== undefined) {
      const started = await startSystemTelemetry(config.telemetry);
      telemetry = started;
      cleanups.push(() => started.close());
    }
    // Registrations persist in the data directory, so a restarted supervisor keeps them.
    const registry: Registry = createRegistry({ dataFile: join(dataDir, 'registry.db') });
    cleanups.push(async () => registry.close());
    const registryServer: RegistryServer = await createRegistryServer({
      registry,
      host: config.registry.host,
      port: config.registry.port,
    });
    cleanups.push(() => registryServer.close());
    telemetry?.watchRegistry(registry);

    const discovery = createDiscoveryClient({ source: registrySource(registry) });
    cleanups.push(async () => discovery.close());
    const gateway: Gateway = await createGateway({
      options: config.gateway,
      discovery,
      rateLimitStores: gatewayRateLimitStores(),
    });
    cleanups.push(() => gateway.close());

    const specs = Object.entries(config.services).flatMap(([service, svc]) =>
      Array.from({ length: svc.replicas }, (_, i) => {
        const id = `${service}-${i + 1}`;
        const argv = typeof svc.command === 'string' ? svc.command.split(/\s+/) : [...svc.command];
        return {
          service,
          id,
          argv,
          cwd: svc.cwd ? resolve(baseDir, svc.cwd) : baseDir,
          env: {
            // With `telemetry:`: OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME; the service's `env` wins.
            ...(telemetry ? { ...telemetry.env, OTEL_SERVICE_NAME: service } : {}),
            ...svc.env,
            PORT: '0',
            SWITCHYARD_HOST: '127.0.0.1',
            SWITCHYARD_SERVICE_NAME: service,
            SWITCHYARD_INSTANCE_ID: id,
            SWITCHYARD_REGISTRY_URL: registryServer.url,
            SWITCHYARD_DATA_DIR: dataDir,
          },
        };
      }),
    );
    const io: OutputOptions = {
      write: output.write,
      colour: output.colour,
      labelWidth: Math.max(10, ...specs.map((s) => s.id.length)),
    };
    say(`switchyard: starting ${config.name}: registry ${registryServer.url}, gateway ${gateway.url}`);
    for (const spec of specs) {
      const instance = startInstance(spec, io);
      instances.push(instance);
      say(`switchyard: started ${spec.id} (pid ${instance.pid ?? '-'}): ${spec.argv.join(' ')}`);
    }

    await waitHealthy(registry, instances, config.startupTimeout);

    const rows: StatusRow[] = instances.map((instance) => {
      const entry = registry.service(instance.spec.id);
      return {
        service: instance.spec.service,
        instance: instance.spec.id,
        url: entry ? `http://${entry.Address}:${entry.Port}` : '-',
        status: 'passing',
      };
    });
    const firstRoute = config.gateway.routes[0];
    say('');
    say(`switchyard: ${config.name} is up in ${formatDuration(Date.now() - started)}`);
    say('');
    say(renderTable(rows));
    say('');
    say(`  gateway   ${gateway.url}`);
    say(`  registry  ${registryServer.url}  (Consul-compatible API)`);
    if (telemetry?.metricsUrl) say(`  metrics   ${telemetry.metricsUrl}`);
    if (firstRoute) say(`\n  try: curl -s ${gateway.url}${firstRoute.path}`);
    say('\n  Ctrl-C stops everything.');

    for (const instance of instances) {
      instance.exited.then((exit) => {
        if (!exit.requested && !stopped)
          say(`switchyard: ${instance.spec.id} exited (${describeExit(exit)}); it is no longer served`);
      });
    }

    return {
      registryUrl: registryServer.url,
      gatewayUrl: gateway.url,
      metricsUrl: telemetry?.metricsUrl,
      dataDir,
      instances,
      rows,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/** Resolves once every instance's id is registered with passing checks; rejects on a crash or timeout. */
function waitHealthy(registry: Registry, instances: readonly ManagedInstance[], timeoutMs: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const pending = new Set(instances.map((i) => i.spec.id));
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      subscription.dispose();
      if (err) reject(err);
      else resolvePromise();
    };
    const check = () => {
      for (const instance of instances) {
        const id = instance.spec.id;
        if (
          pending.has(id) &&
          registry.instances(instance.spec.service, { passing: true }).some((h) => h.Service.ID === id)
        )
          pending.delete(id);
      }
      if (pending.size === 0) finish();
    };
    const subscription = registry.onChange(check);
    const timer = setTimeout(() => {
      finish(
        cliError(
          'SY_CLI_STARTUP_TIMEOUT',
          `not healthy within ${formatDuration(timeoutMs)}: ${[...pending].join(', ')} (raise startupTimeout, or check the service logs above)`,
          { details: { pending: [...pending] } },
        ),
      );
    }, timeoutMs);
    for (const instance of instances) {
      instance.exited.then((exit) => {
        if (done) return;
        finish(
          cliError(
            'SY_CLI_SERVICE_FAILED',
            `${instance.spec.id} exited during start-up (${describeExit(exit)}). Last output:\n    ${instance.recentOutput.join('\n    ') || '(none)'}`,
            { details: { instance: instance.spec.id, code: exit.code, signal: exit.signal } },
          ),
        );
      });
    }
    check();
  });
}
