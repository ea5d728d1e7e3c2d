import { type ChildProcess, spawn } from 'node:child_process';
import { pipeLines, prefix } from './log-prefix.ts';

/** How to start one instance. */
export interface InstanceSpec {
  readonly service: string;
  readonly id: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

/** How an instance ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when it ended because {@link ManagedInstance.stop} asked it to. */
  readonly requested: boolean;
}

/** One child process that the supervisor owns. */
export interface ManagedInstance {
  readonly spec: InstanceSpec;
  readonly pid: number | undefined;
  /** Resolves when the process has exited, however that happened. */
  readonly exited: Promise<ExitInfo>;
  /** The last lines it printed, for error reports. */
  readonly recentOutput: readonly string[];
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. Idempotent. */
  stop(timeoutMs: number): Promise<ExitInfo>;
}

/** Output options for {@link startInstance}. */
export interface OutputOptions {
  readonly write: (text: string) => void;
  readonly colour: boolean;
  readonly labelWidth: number;
}

/**
 * Spawns one instance. `node` as the program means the Node running the supervisor, so the
 * children use the same version. An IPC channel is opened so that an instance can notice its
 * supervisor vanished (the channel disconnects even on SIGKILL) and stop instead of lingering.
 */
export function startInstance(spec: InstanceSpec, output: OutputOptions): ManagedInstance {
  const [program, ...args] = spec.argv;
  const executable = program === 'node' ? process.execPath : (program as string);
  const child: ChildProcess = spawn(executable, args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const recent: string[] = [];
  const label = prefix(spec.id, output.labelWidth, output.colour);
  if (child.stdout) pipeLines(child.stdout, label, output.write, recent);
  if (child.stderr) pipeLines(child.stderr, label, output.write, recent);

  let requested = false;
  const exited = new Promise<ExitInfo>((resolve) => {
    let spawnError: Error | undefined;
    child.once('error', (err) => {
      spawnError = err;
      recent.push(`cannot start ${executable}: ${err.message}`);
      // 'exit' may never follow a spawn failure
      if (child.pid === undefined) resolve({ code: null, signal: null, requested });
    });
    child.once('exit', (code, signal) => {
      if (spawnError && child.pid === undefined) return;
      resolve({ code, signal, requested });
    });
  });
  // The channel exists only to signal the supervisor's death; keep it from holding our loop open.
  child.channel?.unref();

  let stopping: Promise<ExitInfo> | undefined;
  return {
    spec,
    pid: child.pid,
    exited,
    recentOutput: recent,
    stop(timeoutMs) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return exited;
        requested = true;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
          if (child.connected) child.disconnect();
        }
      })();
      return stopping;
    },
  };
}
