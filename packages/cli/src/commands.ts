import { writeFileSync } from 'node:fs';
import { isSwitchyardError } from '@switchyard/core';
import { type LoadedConfig, loadConfigFile } from './load-config.ts';
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
  if (isSwitchyardError(err)) return `error ${err.code}: ${err.message}`;
  return `error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
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

/** `switchyard up`: runs until SIGINT/SIGTERM, then stops everything; resolves with the exit code. */
export async function runUp(opts: { config: string; readyFile?: string }): Promise<ExitCode> {
  const loaded = loadOrReport(opts.config);
  if (!loaded) return ExitCode.ConfigInvalid;

  const write = (text: string) => process.stdout.write(text);
  let system: RunningSystem | undefined;
  let interrupted = false;
  let signalled: (() => void) | undefined;
  const stopRequested = new Promise<void>((resolve) => {
    signalled = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      write(`switchyard: ${signal} again; exiting at once\n`);
      process.exit(ExitCode.Failed);
    }
    interrupted = true;
    write(`\nswitchyard: ${signal}; stopping\n`);
    signalled?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const starting = startSystem(loaded, { write, colour: process.stdout.isTTY === true });
    system = await Promise.race([starting, stopRequested.then(() => starting)]);
    if (opts.readyFile) {
      writeFileSync(
        opts.readyFile,
        JSON.stringify({
          gateway: system.gatewayUrl,
          registry: system.registryUrl,
          ...(system.metricsUrl ? { metrics: system.metricsUrl } : {}),
          dataDir: system.dataDir,
          instances: system.instances.map((i) => ({ id: i.spec.id, service: i.spec.service, pid: i.pid })),
        }),
      );
    }
    await stopRequested;
    await system.stop();
    write('switchyard: stopped\n');
    return ExitCode.Ok;
  } catch (err) {
    process.stderr.write(`${describe(err)}\n`);
    await system?.stop();
    return interrupted ? ExitCode.Ok : ExitCode.Failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
