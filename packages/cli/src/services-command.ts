/**
 * `switchyard services`: the instances and health of every service the config names, read from
 * whichever registry its `registry:` section chooses (the embedded registry's Consul API, Consul,
 * etcd, Kubernetes).
 */
import {
  describeRegistry,
  openDiscoverySource,
  type RegistryConfig,
  registryUrlFor,
  resolveRegistryConfig,
} from '@switchyard/backends';
import { formatDuration, HealthStatus, isSwitchyardError, parseDuration, type ServiceInstance } from '@switchyard/core';
import { createConsulClient, type DiscoverySource, type HealthServiceEntry } from '@switchyard/discovery';
import { redactSecretValues } from '@switchyard/gateway';
import { ExitCode } from './commands.ts';
import { cliError } from './errors.ts';
import { type LoadedConfig, loadConfigFile } from './load-config.ts';

/** Options of {@link runServices}, as the command line gives them. */
export interface ServicesCommandOptions {
  readonly config: string;
  /** Print JSON instead of a table. */
  readonly json?: boolean;
  /** A registry URL to read instead of the config's (`http://127.0.0.1:8500`, `etcd://host:port/prefix/`). */
  readonly registry?: string;
  /** How long to wait for the registry. @default "5s" */
  readonly timeout?: string;
}

/** Where the command writes (the process's streams, or a test's buffers). */
export interface ServicesCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** One instance as `switchyard services --json` prints it. */
export interface ListedInstance {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly health: string;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
}

/** One service as `switchyard services --json` prints it. */
export interface ListedService {
  readonly service: string;
  readonly instances: readonly ListedInstance[];
}

/**
 * Reads the current instances of each of `services` from `source`: the first list each watch
 * gives. The first error, or no answer within `timeoutMs`, fails the whole listing.
 *
 * @param where - the registry, named in the error
 * @throws SwitchyardError `SY_CLI_REGISTRY_UNREACHABLE` naming the registry, with the watch's error as `cause`
 * @example
 * ```ts
 * const listed = await listServices(await openDiscoverySource(config.registry), ['orders'], 5000, 'etcd ...');
 * ```
 */
export async function listServices(
  source: DiscoverySource,
  services: readonly string[],
  timeoutMs: number,
  where: string,
): Promise<ListedService[]> {
  const lists = await Promise.all(services.map((service) => firstList(source, service, timeoutMs, where)));
  return services.map((service, i) => ({
    service,
    instances: (lists[i] ?? []).map(toListed).sort(byId),
  }));
}

/**
 * Reads each of `services` from a Consul-compatible API (the embedded registry's, or Consul's)
 * with every instance, critical ones too (a discovery source leaves those out, as nobody should
 * be routed to them).
 *
 * @throws SwitchyardError `SY_CLI_REGISTRY_UNREACHABLE` naming the registry
 * @example
 * ```ts
 * const listed = await listConsulServices('http://127.0.0.1:8500', undefined, ['orders'], 5000, 'consul http://127.0.0.1:8500');
 * ```
 */
export async function listConsulServices(
  url: string,
  token: string | undefined,
  services: readonly string[],
  timeoutMs: number,
  where: string,
): Promise<ListedService[]> {
  const client = createConsulClient({ url, fetchTimeout: timeoutMs, ...(token === undefined ? {} : { token }) });
  try {
    return await Promise.all(
      services.map(async (service) => {
        const signal = AbortSignal.timeout(timeoutMs);
        try {
          const { entries } = await client.healthService(service, { signal });
          return { service, instances: entries.map(fromHealthEntry).sort(byId) };
        } catch (err) {
          const why = signal.aborted
            ? `no answer about ${service} within ${formatDuration(timeoutMs)}`
            : `cannot read ${service}: ${err instanceof Error ? err.message : String(err)}`;
          throw cliError('SY_CLI_REGISTRY_UNREACHABLE', `${where}: ${why}`, {
            cause: err,
            details: { registry: where, service },
          });
        }
      }),
    );
  } finally {
    await client.close();
  }
}

const severity: Record<string, number> = { passing: 0, warning: 1, critical: 2 };

function fromHealthEntry(entry: HealthServiceEntry): ListedInstance {
  let health: string = HealthStatus.Passing;
  for (const check of entry.Checks) if ((severity[check.Status] ?? 2) > (severity[health] ?? 0)) health = check.Status;
  return {
    id: entry.Service.ID,
    address: entry.Service.Address || entry.Node.Address,
    port: entry.Service.Port,
    health,
    tags: [...(entry.Service.Tags ?? [])],
    meta: { ...(entry.Service.Meta ?? {}) },
  };
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function toListed(instance: ServiceInstance): ListedInstance {
  return {
    id: instance.id,
    address: instance.address,
    port: instance.port,
    health: instance.status,
    tags: [...instance.tags],
    meta: { ...instance.meta },
  };
}

function firstList(
  source: DiscoverySource,
  service: string,
  timeoutMs: number,
  where: string,
): Promise<readonly ServiceInstance[]> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (run: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Disposed after the watch's own callback returned.
      queueMicrotask(() => subscription.dispose());
      run();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(
            cliError(
              'SY_CLI_REGISTRY_UNREACHABLE',
              `${where}: no answer about ${service} within ${formatDuration(timeoutMs)}`,
              { details: { registry: where, service } },
            ),
          ),
        ),
      timeoutMs,
    );
    const subscription = source.watch(service, {
      next: (instances) => settle(() => resolve(instances)),
      error: (err) =>
        settle(() =>
          reject(
            cliError(
              'SY_CLI_REGISTRY_UNREACHABLE',
              `${where}: cannot read ${service}: ${err instanceof Error ? err.message : String(err)}`,
              { cause: err, details: { registry: where, service } },
            ),
          ),
        ),
    });
  });
}

/** The services a config names: those `up` runs, then those its routes send to. */
function servicesOf(loaded: LoadedConfig): string[] {
  const routed = loaded.config.gateway.routes.flatMap((route) => (route.service === undefined ? [] : [route.service]));
  return [...new Set([...Object.keys(loaded.config.services), ...routed])];
}

/** Renders the listing as an aligned table, one row per instance. */
function renderServices(listed: readonly ListedService[], where: string): string {
  const rows: string[][] = [['SERVICE', 'INSTANCE', 'ADDRESS', 'HEALTH']];
  for (const { service, instances } of listed) {
    if (instances.length === 0) rows.push([service, '-', '-', 'no instances']);
    for (const i of instances) {
      const host = i.address.includes(':') ? `[${i.address}]` : i.address;
      rows.push([service, i.id, `${host}:${i.port}`, i.health]);
    }
  }
  const widths = (rows[0] ?? []).map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
  const lines = rows.map((row) =>
    `  ${row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0))).join('  ')}`.trimEnd(),
  );
  return `registry: ${where}\n\n${lines.join('\n')}\n`;
}

function describeError(err: unknown): string {
  if (isSwitchyardError(err)) return redactSecretValues(`error ${err.code}: ${err.message}`);
  return redactSecretValues(`error: ${err instanceof Error ? err.message : String(err)}`);
}

/**
 * `switchyard services [-c file] [--json]`: prints each service the config names with its
 * instances and their health, as the configured registry reports them.
 *
 * @returns 0 when listed; 1 when the registry cannot be read (the message names it); 2 for a
 *   missing or invalid config (or a bad `--registry`/`--timeout`)
 * @example
 * ```ts
 * process.exitCode = await runServices({ config: 'switchyard.yaml', json: true });
 * ```
 */
export async function runServices(
  opts: ServicesCommandOptions,
  io: ServicesCommandIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) },
): Promise<ExitCode> {
  let loaded: LoadedConfig;
  let list: () => Promise<ListedService[]>;
  let close: () => Promise<void> = async () => {};
  let where: string;
  try {
    loaded = loadConfigFile(opts.config);
    for (const warning of loaded.warnings) io.stderr(`warning: ${warning}\n`);
    const timeoutMs = parseDuration(opts.timeout ?? '5s', '--timeout');
    const services = servicesOf(loaded);
    const registry: RegistryConfig | string = opts.registry ?? loaded.config.registry;
    where = typeof registry === 'string' ? registry : describeRegistry(registry);
    const consul = consulApiOf(registry);
    if (consul !== undefined) {
      list = () => listConsulServices(consul.url, consul.token, services, timeoutMs, where);
    } else {
      const source = await openDiscoverySource(registry, opts.registry === undefined ? {} : { field: '--registry' });
      list = () => listServices(source, services, timeoutMs, where);
      close = () => source.close();
    }
  } catch (err) {
    io.stderr(`${describeError(err)}\n`);
    return ExitCode.ConfigInvalid;
  }
  try {
    const listed = await list();
    io.stdout(
      opts.json === true
        ? `${JSON.stringify({ registry: where, services: listed }, null, 2)}\n`
        : renderServices(listed, where),
    );
    return ExitCode.Ok;
  } catch (err) {
    io.stderr(`${describeError(err)}\n`);
    return ExitCode.Failed;
  } finally {
    await close();
  }
}

/** The Consul-compatible API of the embedded and consul backends (or an http URL), else undefined. */
function consulApiOf(registry: RegistryConfig | string): { url: string; token: string | undefined } | undefined {
  if (typeof registry === 'string') {
    const url = registry.trim();
    return /^https?:\/\//i.test(url) && URL.canParse(url) ? { url, token: undefined } : undefined;
  }
  const config = resolveRegistryConfig(registry);
  // With `acl`, any of its tokens may read.
  if (config.backend === 'embedded') return { url: registryUrlFor(config), token: config.acl?.tokens[0]?.token };
  if (config.backend === 'consul') return { url: config.url, token: config.token };
  return undefined;
}
