import { writeFileSync } from 'node:fs';
import { isSwitchyardError } from '@switchyard/core';
import { redactSecretValues } from '@switchyard/gateway';
import { type LoadedConfig, loadConfigFile } from './load-config.ts';
import { createSupervisorLog, LogFormat } from './supervisor-log.ts';
import { type RunningSystem, startSystem } from './system.ts';

/** Exit codes scripts can rely on. */
export const ExitCode = {
  Ok: 0,
  /** Start-up or runtime failure. */
  Failed: 1,
  /** The config is missing or invalid. */
  ConfigInvalid: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

function loadOrReport(file: string): LoadedConfig | undefined {
  try {
    const loaded = loadConfigFile(file);
    for (const warning of loaded.warnings) process.stderr.write(`warning: ${warning}\n`);
    return loaded;
  } catch (err) {
    process.stderr.write(`${describe(err)}\n`);
    return undefined;
  }
}

function describe(err: unknown): string {
  // Secrets the config declared (`${env:...}`, `${file:...}`) never reach the terminal.
  if (isSwitchyardError(err)) return redactSecretValues(`error ${err.code}: ${err.message}`);
  return redactSecretValues(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
}

/** `switchyard validate`: prints every issue; exit 2 when invalid. */
export function runValidate(opts: { config: string }): ExitCode {
  const loaded = loadOrReport(opts.config);
  if (!loaded) return ExitCode.ConfigInvalid;
  const services = Object.keys(loaded.config.services).length;
  process.stdout.write(
    `${loaded.path}: valid (${services} service${services === 1 ? '' : 's'}, ${loaded.config.gateway.routes.length} routes)\n`,
  );
  return ExitCode.Ok;
}

/**
 * `switchyard up`: runs until SIGINT/SIGTERM, then stops everything; resolves with the exit code.
 * Logs are text on a terminal and JSON lines otherwise, unless `logFormat` says which.
 */
export async function runUp(opts: { config: string; readyFile?: string; logFormat?: LogFormat }): Promise<ExitCode> {
  const loaded = loadOrReport(opts.config);
  if (!loaded) return ExitCode.ConfigInvalid;

  const write = (text: string) => process.stdout.write(text);
  const logFormat = opts.logFormat ?? (process.stdout.isTTY === true ? LogFormat.Text : LogFormat.Json);
  const log = createSupervisorLog({ format: logFormat, write });
  const errorLog = createSupervisorLog({ format: logFormat, write: (text) => process.stderr.write(text) });
  let system: RunningSystem | undefined;
  let interrupted = false;
  let signalled: (() => void) | undefined;
  const stopRequested = new Promise<void>((resolve) => {
    signalled = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      log.log('warn', `${signal} again; exiting at once`);
      process.exit(ExitCode.Failed);
    }
    interrupted = true;
    log.log('info', `${signal}; stopping`);
    signalled?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const starting = startSystem(loaded, { write, colour: process.stdout.isTTY === true, logFormat });
    system = await Promise.race([starting, stopRequested.then(() => starting)]);
    if (opts.readyFile) {
      writeFileSync(
        opts.readyFile,
        JSON.stringify({
          gateway: system.gatewayUrl,
          registry: system.registryUrl,
          ...(system.metricsUrl ? { metrics: system.metricsUrl } : {}),
          ...(system.adminUrl ? { admin: system.adminUrl } : {}),
          ...(system.xdsAddress ? { xds: system.xdsAddress } : {}),
          dataDir: system.dataDir,
          instances: system.instances.map((i) => ({ id: i.spec.id, service: i.spec.service, pid: i.pid })),
        }),
      );
    }
    await stopRequested;
    await system.stop();
    log.log('info', 'stopped');
    return ExitCode.Ok;
  } catch (err) {
    if (logFormat === LogFormat.Json)
      errorLog.log('error', describe(err), undefined, isSwitchyardError(err) ? { code: err.code } : {});
    else process.stderr.write(`${describe(err)}\n`);
    await system?.stop();
    return interrupted ? ExitCode.Ok : ExitCode.Failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
