import { coreError, formatDuration } from '@switchyard/core';
import { type ExitInfo, type InstanceSpec, type ManagedInstance, startInstance } from './child-process.ts';
import { cliError } from './errors.ts';
import {
  createRestartTracker,
  type ExitRecord,
  type ResolvedRestartOptions,
  type RestartTracker,
} from './restart-policy.ts';
import { dependencyLevels } from './start-order.ts';
import type { SupervisorLog } from './supervisor-log.ts';

/** The life of one supervised instance. */
export const InstanceStateKind = {
  /** Its process runs; it has not passed its health check yet. */
  Starting: 'starting',
  /** Its process runs and it passed its health check. */
  Running: 'running',
  /** It exited and waits out its backoff before the next start. */
  Restarting: 'restarting',
  /** It crashed too often within the window and is not restarted again. */
  CrashLoop: 'crash-loop',
  /** It is not running and will not be restarted (stopped, or its policy said no). */
  Stopped: 'stopped',
} as const;
export type InstanceStateKind = (typeof InstanceStateKind)[keyof typeof InstanceStateKind];

/** How a process of an instance ended last. */
export interface LastExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** ms since the epoch. */
  readonly at: number;
}

/** A snapshot of one instance, for status tables and the admin API. */
export interface InstanceState {
  readonly id: string;
  readonly service: string;
  /** The current process, `undefined` while none runs. */
  readonly pid: number | undefined;
  /** How many times the supervisor started it again. */
  readonly restarts: number;
  readonly state: InstanceStateKind;
  readonly lastExit: LastExit | undefined;
}

/** One service as the supervisor runs it. */
export interface SupervisedService {
  readonly name: string;
  /** Services whose every instance must be healthy before this one starts. */
  readonly dependsOn: readonly string[];
  readonly restart: ResolvedRestartOptions;
  /** One spec per replica. */
  readonly instances: readonly InstanceSpec[];
}

/** What the supervisor needs from the registry. */
export interface HealthView {
  /** True when the instance `id` of `service` is registered with passing checks. */
  isPassing(service: string, id: string): boolean;
  /** Calls `listener` after every registry change. */
  onChange(listener: () => void): { dispose(): void };
  /** Drops the registration of an instance whose process died, so nobody routes to it. */
  forget(id: string): void;
}

/** Options of {@link createSupervisor}. */
export interface SupervisorOptions {
  readonly services: readonly SupervisedService[];
  readonly health: HealthView;
  readonly log: SupervisorLog;
  /** How long {@link Supervisor.start} waits for every instance to turn healthy. */
  readonly startupTimeoutMs: number;
  /** How long an instance may take to stop before SIGKILL. */
  readonly shutdownTimeoutMs: number;
  /** How often start-up progress is printed. @default 2000 */
  readonly progressIntervalMs?: number;
}

/** Runs instances as child processes: in dependency order, health-gated, restarted by policy. */
export interface Supervisor {
  /**
   * Starts every service once all of its dependencies' instances are healthy; resolves when
   * every instance is.
   *
   * @throws SwitchyardError `SY_CLI_SERVICE_FAILED` (an instance exited during start-up),
   *   `SY_CLI_CRASH_LOOP` (under `always`, it crash-looped during start-up) or
   *   `SY_CLI_STARTUP_TIMEOUT`; the caller then calls {@link Supervisor.stop}. `SY_CANCELLED` when
   *   {@link Supervisor.stop} is called first
   */
  start(): Promise<void>;
  /** A snapshot of every instance, in config order. */
  instanceStates(): InstanceState[];
  /** The current process of every instance that has one. */
  instances(): ManagedInstance[];
  /** Stops restarting and stops every instance, dependents before their dependencies. Idempotent. */
  stop(): Promise<void>;
}

interface Slot {
  readonly spec: InstanceSpec;
  readonly service: SupervisedService;
  readonly tracker: RestartTracker;
  current: ManagedInstance | undefined;
  startedAt: number;
  state: InstanceStateKind;
  restarts: number;
  lastExit: LastExit | undefined;
  cancelRestart: (() => void) | undefined;
}

/** Describes an exit as `code 1` or `signal SIGKILL`. */
export function describeExit(exit: { code: number | null; signal: string | null }): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/**
 * Creates a supervisor for the given services. Nothing runs before {@link Supervisor.start}.
 *
 * Start-up: a service's instances start once every instance of each `dependsOn` service passed
 * its health check; independent services start together. An exit during start-up fails the
 * start (under the `always` policy it is restarted instead). After start-up, an instance that
 * exits is restarted by its policy with capped exponential backoff; more than
 * `crashLoop.restarts` crashes within `crashLoop.window` is a crash loop, reported with the
 * exits and the last output lines, after which it stays down (state `crash-loop`).
 *
 * @example
 * ```ts
 * const supervisor = createSupervisor({ services, health, log, startupTimeoutMs: 30_000, shutdownTimeoutMs: 15_000 });
 * await supervisor.start();
 * console.log(supervisor.instanceStates());
 * await supervisor.stop();
 * ```
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const { health, log } = options;
  const byName = new Map(options.services.map((s) => [s.name, s]));
  const slots: Slot[] = options.services.flatMap((service) =>
    service.instances.map((spec) => ({
      spec,
      service,
      tracker: createRestartTracker(service.restart),
      current: undefined,
      startedAt: 0,
      state: InstanceStateKind.Stopped,
      restarts: 0,
      lastExit: undefined,
      cancelRestart: undefined,
    })),
  );
  const launched = new Set<string>();
  let phase: 'idle' | 'starting' | 'up' | 'stopping' = 'idle';
  let startResult: { resolve: () => void; reject: (err: Error) => void } | undefined;
  let subscription: { dispose(): void } | undefined;
  let stopping: Promise<void> | undefined;

  const subject = (slot: Slot) => ({ service: slot.service.name, instance: slot.spec.id });
  const healthyCount = () => slots.filter((s) => s.state === InstanceStateKind.Running).length;
  const serviceReady = (name: string) =>
    slots.every((s) => s.service.name !== name || s.state === InstanceStateKind.Running);

  const failStart = (err: Error) => {
    if (phase !== 'starting') return;
    const result = startResult;
    startResult = undefined;
    result?.reject(err);
  };

  const launch = (slot: Slot) => {
    slot.cancelRestart = undefined;
    const instance = startInstance(slot.spec, (stream, line) =>
      log.child(slot.service.name, slot.spec.id, stream, line),
    );
    slot.current = instance;
    slot.startedAt = Date.now();
    slot.state = InstanceStateKind.Starting;
    log.log(
      'info',
      `started ${slot.spec.id} (pid ${instance.pid ?? '-'}): ${slot.spec.argv.join(' ')}`,
      subject(slot),
      { pid: instance.pid },
    );
    instance.exited.then((exit) => onExit(slot, instance, exit));
  };

  const onExit = (slot: Slot, instance: ManagedInstance, exit: ExitInfo) => {
    if (slot.current !== instance) return;
    const record: ExitRecord = { code: exit.code, signal: exit.signal, at: Date.now() };
    slot.lastExit = record;
    if (exit.requested || phase === 'stopping' || phase === 'idle') {
      slot.state = InstanceStateKind.Stopped;
      return;
    }
    health.forget(slot.spec.id);
    const duringStartup = phase === 'starting';
    const decision = slot.tracker.onExit(record, slot.startedAt, duringStartup);
    const exitText = `${slot.spec.id} exited (${describeExit(exit)})`;
    if (decision.action === 'restart') {
      slot.state = InstanceStateKind.Restarting;
      log.log(
        'warn',
        `${exitText}; restarting in ${formatDuration(decision.delayMs)} (restart ${slot.restarts + 1})`,
        subject(slot),
        { code: exit.code, signal: exit.signal, delayMs: decision.delayMs },
      );
      const timer = setTimeout(() => {
        if (phase === 'stopping' || slot.cancelRestart === undefined) return;
        slot.restarts += 1;
        launch(slot);
      }, decision.delayMs);
      slot.cancelRestart = () => clearTimeout(timer);
      return;
    }
    if (decision.action === 'crash-loop') {
      slot.state = InstanceStateKind.CrashLoop;
      const report = crashLoopReport(slot, decision.crashes, instance.recentOutput);
      log.log('error', report, subject(slot), {
        exits: decision.crashes.map((c) => ({ code: c.code, signal: c.signal })),
        lastOutput: instance.recentOutput,
      });
      failStart(
        cliError('SY_CLI_CRASH_LOOP', report, {
          details: { instance: slot.spec.id, exits: decision.crashes.map((c) => describeExit(c)) },
        }),
      );
      return;
    }
    slot.state = InstanceStateKind.Stopped;
    if (duringStartup) {
      failStart(
        cliError(
          'SY_CLI_SERVICE_FAILED',
          `${slot.spec.id} exited during start-up (${describeExit(exit)}). Last output:\n    ${instance.recentOutput.join('\n    ') || '(none)'}`,
          { details: { instance: slot.spec.id, code: exit.code, signal: exit.signal } },
        ),
      );
      return;
    }
    log.log('warn', `${exitText}; it is no longer served (${decision.reason})`, subject(slot), {
      code: exit.code,
      signal: exit.signal,
    });
  };

  // Runs on every registry change: marks instances healthy and starts services whose
  // dependencies just became ready.
  const evaluate = () => {
    if (phase !== 'starting' && phase !== 'up') return;
    for (const slot of slots) {
      if (slot.state !== InstanceStateKind.Starting || !health.isPassing(slot.service.name, slot.spec.id)) continue;
      slot.state = InstanceStateKind.Running;
      if (phase === 'starting')
        log.log('info', `${slot.spec.id} is healthy (${healthyCount()}/${slots.length})`, subject(slot));
      else log.log('info', `${slot.spec.id} is healthy again (restart ${slot.restarts})`, subject(slot));
    }
    if (phase !== 'starting') return;
    for (const service of options.services) {
      if (launched.has(service.name) || !service.dependsOn.every(serviceReady)) continue;
      launched.add(service.name);
      for (const slot of slots) if (slot.service === service) launch(slot);
    }
    if (slots.every((s) => s.state === InstanceStateKind.Running)) {
      const result = startResult;
      startResult = undefined;
      result?.resolve();
    }
  };

  const pendingText = () => {
    const lines: string[] = [];
    for (const slot of slots) {
      if (launched.has(slot.service.name) && slot.state !== InstanceStateKind.Running)
        lines.push(`${slot.spec.id} (${slot.state})`);
    }
    for (const service of options.services) {
      if (!launched.has(service.name))
        lines.push(`${service.name} (waiting for ${service.dependsOn.filter((d) => !serviceReady(d)).join(', ')})`);
    }
    return lines;
  };

  const progress = () => {
    if (phase !== 'starting') return;
    const count = `healthy ${healthyCount()}/${slots.length}`;
    for (const slot of slots) {
      if (launched.has(slot.service.name) && slot.state !== InstanceStateKind.Running)
        log.log('info', `waiting for ${slot.spec.id} (${count})`, subject(slot));
    }
    for (const service of options.services) {
      if (launched.has(service.name)) continue;
      const waiting = service.dependsOn.filter((d) => !serviceReady(d));
      log.log('info', `${service.name} waits for ${waiting.join(', ')} (${count})`, { service: service.name });
    }
  };

  return {
    start() {
      if (phase !== 'idle') return Promise.reject(new Error('the supervisor was started already'));
      phase = 'starting';
      return new Promise<void>((resolve, reject) => {
        const timeout = setTimeout(() => {
          const pending = pendingText();
          failStart(
            cliError(
              'SY_CLI_STARTUP_TIMEOUT',
              `not healthy within ${formatDuration(options.startupTimeoutMs)}: ${pending.join(', ')} (raise startupTimeout, or check the service logs above)`,
              { details: { pending } },
            ),
          );
        }, options.startupTimeoutMs);
        const ticker = setInterval(progress, options.progressIntervalMs ?? 2000);
        const settle = () => {
          clearTimeout(timeout);
          clearInterval(ticker);
        };
        startResult = {
          resolve: () => {
            settle();
            phase = 'up';
            resolve();
          },
          reject: (err) => {
            settle();
            reject(err);
          },
        };
        subscription = health.onChange(evaluate);
        for (const service of options.services) {
          const waiting = service.dependsOn.filter((d) => byName.has(d));
          if (waiting.length > 0)
            log.log('info', `${service.name} waits for ${waiting.join(', ')}`, { service: service.name });
        }
        evaluate();
      });
    },
    instanceStates() {
      return slots.map((slot) => ({
        id: slot.spec.id,
        service: slot.service.name,
        pid:
          slot.state === InstanceStateKind.Starting || slot.state === InstanceStateKind.Running
            ? slot.current?.pid
            : undefined,
        restarts: slot.restarts,
        state: slot.state,
        lastExit: slot.lastExit,
      }));
    },
    instances() {
      return slots.flatMap((slot) => (slot.current ? [slot.current] : []));
    },
    stop() {
      stopping ??= (async () => {
        // A start still waiting settles now, so its timers end and its caller moves on.
        const pending = startResult;
        startResult = undefined;
        pending?.reject(coreError('SY_CANCELLED', 'start-up was cancelled: the supervisor is stopping'));
        phase = 'stopping';
        subscription?.dispose();
        for (const slot of slots) {
          slot.cancelRestart?.();
          slot.cancelRestart = undefined;
        }
        const levels = dependencyLevels(Object.fromEntries(options.services.map((s) => [s.name, s])));
        for (const level of levels.reverse()) {
          await Promise.all(
            slots
              .filter((slot) => level.includes(slot.service.name) && slot.current)
              .map(async (slot) => {
                await slot.current?.stop(options.shutdownTimeoutMs);
                slot.state = InstanceStateKind.Stopped;
              }),
          );
        }
        for (const slot of slots) slot.state = InstanceStateKind.Stopped;
      })();
      return stopping;
    },
  };
}

function crashLoopReport(slot: Slot, crashes: readonly ExitRecord[], lastOutput: readonly string[]): string {
  const { crashLoop } = slot.service.restart;
  return [
    `${slot.spec.id} is crash-looping: ${crashes.length} exits within ${formatDuration(crashLoop.window)} (more than crashLoop.restarts: ${crashLoop.restarts}); not restarting it again.`,
    `  exits: ${crashes.map((c) => describeExit(c)).join(', ')}`,
    '  last output:',
    ...(lastOutput.length > 0 ? lastOutput.map((line) => `    ${line}`) : ['    (none)']),
  ].join('\n');
}
