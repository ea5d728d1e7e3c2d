import { readFileSync, writeFileSync } from 'node:fs';
import { type ConfigIssue, isSwitchyardError, type ServiceInstance } from '@switchyard/core';
import { consulSource, createDiscoveryClient } from '@switchyard/discovery';
import { type EnvoyBootstrapOptions, generateEnvoyBootstrap, toEnvoyYaml, validateEnvoyConfig } from '@switchyard/mesh';
import { parse } from 'yaml';
import { loadConfigFile } from './load-config.ts';
import { meshConfigFromSwitchyard } from './mesh-config-from-switchyard.ts';

/** Exit codes of `switchyard mesh envoy`. */
export const MeshEnvoyExit = {
  Ok: 0,
  /** The Envoy config is invalid (issues printed by path), or the gateway config has no Envoy equivalent. */
  Invalid: 1,
  /** Bad flags, or a config file that cannot be read or is not valid. */
  Usage: 2,
} as const;
export type MeshEnvoyExit = (typeof MeshEnvoyExit)[keyof typeof MeshEnvoyExit];

/** Flags of `switchyard mesh envoy`, as commander passes them. */
export interface MeshEnvoyOptions {
  readonly config: string;
  readonly mode?: string;
  /** `host:port` of the xDS server: clusters use EDS over ADS. */
  readonly eds?: string;
  /** The service a sidecar runs next to. */
  readonly service?: string;
  readonly appPort?: string;
  /** Registry URL to read static endpoints from. */
  readonly registry?: string;
  readonly healthPath?: string;
  readonly output?: string;
  readonly format?: string;
  /** Validate this Envoy config file instead of generating one. */
  readonly check?: string;
}

/** Where the command writes; the process streams by default. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * `switchyard mesh envoy`: prints an Envoy v3 bootstrap (front proxy or sidecar) generated from
 * `switchyard.yaml`, checked against Envoy's protos; with `--check <file>`, validates an existing
 * Envoy config instead.
 *
 * @returns 0 when valid, 1 with the issues by path when not, 2 for bad flags or config file
 * @example
 * ```ts
 * process.exitCode = await runMeshEnvoy({ config: 'switchyard.yaml', mode: 'sidecar', service: 'orders' });
 * ```
 */
export async function runMeshEnvoy(opts: MeshEnvoyOptions, io: CommandIo = processIo): Promise<MeshEnvoyExit> {
  const usage = (message: string) => {
    io.err(`error: ${message}\n`);
    return MeshEnvoyExit.Usage;
  };
  const format = opts.format ?? 'yaml';
  if (format !== 'yaml' && format !== 'json')
    return usage(`--format: expected yaml or json, got ${JSON.stringify(format)}`);
  if (opts.check !== undefined) return checkFile(opts.check, io);

  const mode = opts.mode ?? 'front-proxy';
  if (mode !== 'front-proxy' && mode !== 'sidecar') {
    return usage(`--mode: expected front-proxy or sidecar, got ${JSON.stringify(mode)}`);
  }
  const xds = opts.eds === undefined ? undefined : hostPort(opts.eds);
  if (xds === null) return usage(`--eds: expected host:port of the xDS server, got ${JSON.stringify(opts.eds)}`);
  if (mode === 'sidecar' && opts.service === undefined) return usage('--service is required with --mode sidecar');
  const appPort = Number(opts.appPort ?? 8080);
  if (!Number.isInteger(appPort) || appPort < 1 || appPort > 65_535) {
    return usage(`--app-port: expected a port 1..65535, got ${JSON.stringify(opts.appPort)}`);
  }

  let loaded: ReturnType<typeof loadConfigFile>;
  try {
    loaded = loadConfigFile(opts.config);
  } catch (err) {
    return usage(isSwitchyardError(err) ? `${err.code}: ${err.message}` : String(err));
  }
  for (const warning of loaded.warnings) io.err(`warning: ${warning}\n`);

  let instances: Record<string, readonly ServiceInstance[]> | undefined;
  if (opts.registry !== undefined && xds === undefined) {
    try {
      instances = await registryInstances(opts.registry, loaded.config.gateway.routes);
    } catch (err) {
      io.err(`error: cannot read instances from ${opts.registry}: ${(err as Error).message}\n`);
      return MeshEnvoyExit.Invalid;
    }
  }
  const mapping = meshConfigFromSwitchyard(loaded.config, {
    ...(instances === undefined ? {} : { instances }),
    ...(opts.healthPath === undefined ? {} : { healthPath: opts.healthPath }),
  });
  for (const warning of mapping.warnings) io.err(`warning: ${warning}\n`);
  if (mapping.issues.length > 0) return printIssues(io, `${loaded.path}: cannot be expressed in Envoy`, mapping.issues);

  const options: EnvoyBootstrapOptions = {
    mode,
    endpoints: xds === undefined ? 'static' : 'eds',
    ...(xds === undefined ? {} : { xds }),
    ...(mode === 'sidecar' && opts.service !== undefined ? { sidecar: { service: opts.service, appPort } } : {}),
  };
  let bootstrap: Record<string, unknown>;
  try {
    bootstrap = generateEnvoyBootstrap(mapping.mesh, options);
  } catch (err) {
    if (isSwitchyardError(err) && Array.isArray(err.details.issues)) {
      return printIssues(io, `error ${err.code}`, err.details.issues as unknown as ConfigIssue[]);
    }
    throw err;
  }
  if (xds === undefined && instances === undefined) {
    const empty = Object.keys(mapping.mesh.clusters ?? {}).filter(
      (s) => (mapping.mesh.clusters?.[s]?.endpoints ?? []).length === 0,
    );
    if (empty.length > 0) {
      io.err(
        `warning: no endpoints for ${empty.join(', ')}: pass --registry <url> for static endpoints, or --eds host:port\n`,
      );
    }
  }
  const text = format === 'json' ? `${JSON.stringify(bootstrap, null, 2)}\n` : toEnvoyYaml(bootstrap);
  if (opts.output === undefined) io.out(text);
  else {
    writeFileSync(opts.output, text);
    io.err(`wrote ${opts.output}\n`);
  }
  return MeshEnvoyExit.Ok;
}

function checkFile(file: string, io: CommandIo): MeshEnvoyExit {
  let config: unknown;
  try {
    config = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    io.err(`error: cannot read ${file}: ${(err as Error).message}\n`);
    return MeshEnvoyExit.Usage;
  }
  const issues = validateEnvoyConfig(config);
  if (issues.length > 0) return printIssues(io, `${file}: invalid Envoy bootstrap`, issues);
  io.out(`${file}: valid Envoy v3 bootstrap\n`);
  return MeshEnvoyExit.Ok;
}

function printIssues(io: CommandIo, head: string, issues: readonly ConfigIssue[]): MeshEnvoyExit {
  io.err(`${head}:\n${issues.map((i) => `  ${i.path}: ${i.message}\n`).join('')}`);
  return MeshEnvoyExit.Invalid;
}

/** `host:port` or `[v6]:port`; `null` when malformed. */
function hostPort(text: string): { host: string; port: number } | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (host === undefined || !(port >= 1 && port <= 65_535)) return null;
  return { host, port };
}

async function registryInstances(
  url: string,
  routes: readonly { service?: string | undefined }[],
): Promise<Record<string, readonly ServiceInstance[]>> {
  const discovery = createDiscoveryClient({ source: consulSource({ url }) });
  try {
    const out: Record<string, readonly ServiceInstance[]> = {};
    for (const service of new Set(routes.flatMap((r) => (r.service === undefined ? [] : [r.service])))) {
      out[service] = await discovery.instances(service, AbortSignal.timeout(10_000));
    }
    return out;
  } finally {
    await discovery.close();
  }
}
