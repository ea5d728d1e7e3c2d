import { type ChildProcess, spawn } from 'node:child_process';
import { pipeLines } from './log-prefix.ts';

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

/** Which stream of the child a line came from. */
export type OutputStream = 'stdout' | 'stderr';

/** Receives every line an instance prints. */
export type LineListener = (stream: OutputStream, line: string) => void;

/** How many of an instance's last lines {@link ManagedInstance.recentOutput} keeps. */
export const RECENT_LINES = 20;

/**
 * Spawns one instance. `node` as the program means the Node running the supervisor, so the
 * children use the same version. An IPC channel is opened so that an instance can notice its
 * supervisor vanished (the channel disconnects even on SIGKILL) and stop instead of lingering.
 *
 * @example
 * ```ts
 * const instance = startInstance(
 *   { service: 'orders', id: 'orders-1', argv: ['node', 'main.ts'], cwd: process.cwd(), env: {} },
 *   (stream, line) => console.log(`orders-1 ${stream}: ${line}`),
 * );
 * await instance.stop(5000);
 * ```
 */
export function startInstance(spec: InstanceSpec, onLine: LineListener): ManagedInstance {
  const [program, ...args] = spec.argv;
  const executable = program === 'node' ? process.execPath : (program as string);
  const child: ChildProcess = spawn(executable, args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const recent: string[] = [];
  const keep = (stream: OutputStream) => (line: string) => {
    recent.push(line);
    if (recent.length > RECENT_LINES) recent.shift();
    onLine(stream, line);
  };
  if (child.stdout) pipeLines(child.stdout, keep('stdout'));
  if (child.stderr) pipeLines(child.stderr, keep('stderr'));

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
      // Resolve once the last lines are read, so crash reports include them; a grandchild that
      // inherited the pipes may keep them open, hence the bound.
      const streams = [child.stdout, child.stderr].filter((s) => s !== null && !s.closed);
      let open = streams.length;
      const done = () => {
        clearTimeout(bound);
        resolve({ code, signal, requested });
      };
      const bound = setTimeout(done, 250);
      if (open === 0) done();
      for (const stream of streams)
        stream?.once('close', () => {
          open -= 1;
          if (open === 0) done();
        });
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
