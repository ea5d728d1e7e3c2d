import { resolve } from 'node:path';
import type { Registry } from '@switchyard/discovery';
import type { InstanceSpec } from './child-process.ts';
import type { SwitchyardConfig } from './config-schema.ts';
import type { StatusRow } from './status-table.ts';
import { createSupervisor, type HealthView, InstanceStateKind, type Supervisor } from './supervisor.ts';
import { createSupervisorLog, LogFormat, type SupervisorLog } from './supervisor-log.ts';

/** Input of {@link createSystemSupervisor}. */
export interface SystemSupervisorInput {
  readonly config: Pick<SwitchyardConfig, 'services' | 'startupTimeout' | 'shutdownTimeout'>;
  /** The config file's directory; `cwd`s are relative to it. */
  readonly baseDir: string;
  readonly registry: Registry;
  readonly write: (text: string) => void;
  readonly colour: boolean;
  /** @default "text" */
  readonly logFormat?: LogFormat | undefined;
  /** The whole extra environment of an instance, given the service's own `env:` (`own`). */
  readonly env: (
    service: string,
    id: string,
    own: Readonly<Record<string, string>>,
  ) => Readonly<Record<string, string>>;
  /** How often start-up progress is printed. @default 2000 */
  readonly progressIntervalMs?: number | undefined;
}

/**
 * A {@link HealthView} over the embedded registry: an instance is healthy once registered
 * with passing checks; a dead instance is deregistered at once so the gateway stops choosing it.
 *
 * @example
 * ```ts
 * const health = registryHealthView(createRegistry());
 * health.isPassing('orders', 'orders-1'); // false until orders-1 registers and passes
 * ```
 */
export function registryHealthView(registry: Registry): HealthView {
  return {
    isPassing: (service, id) => registry.instances(service, { passing: true }).some((h) => h.Service.ID === id),
    onChange: (listener) => registry.onChange(listener),
    forget: (id) => {
      if (!registry.closed) registry.deregister(id);
    },
  };
}

/**
 * Builds the supervisor of `switchyard up` from the `services:` of a config: one instance spec
 * per replica (`<name>-1`, `<name>-2`, ...), the registry as health source, and the log in the
 * chosen format.
 *
 * @example
 * ```ts
 * const { supervisor } = createSystemSupervisor({ config, baseDir, registry, write, colour: false, env: (_s, _id, own) => own });
 * await supervisor.start();
 * ```
 */
export function createSystemSupervisor(input: SystemSupervisorInput): {
  supervisor: Supervisor;
  log: SupervisorLog;
} {
  const services = Object.entries(input.config.services).map(([name, svc]) => ({
    name,
    dependsOn: svc.dependsOn,
    restart: svc.restart,
    instances: Array.from({ length: svc.replicas }, (_, i): InstanceSpec => {
      const id = `${name}-${i + 1}`;
      return {
        service: name,
        id,
        argv: typeof svc.command === 'string' ? svc.command.split(/\s+/) : [...svc.command],
        cwd: svc.cwd ? resolve(input.baseDir, svc.cwd) : input.baseDir,
        env: input.env(name, id, svc.env),
      };
    }),
  }));
  const log = createSupervisorLog({
    format: input.logFormat ?? LogFormat.Text,
    write: input.write,
    colour: input.colour,
    labelWidth: Math.max(10, ...services.flatMap((s) => s.instances.map((i) => i.id.length))),
  });
  const supervisor = createSupervisor({
    services,
    health: registryHealthView(input.registry),
    log,
    startupTimeoutMs: input.config.startupTimeout,
    shutdownTimeoutMs: input.config.shutdownTimeout,
    ...(input.progressIntervalMs === undefined ? {} : { progressIntervalMs: input.progressIntervalMs }),
  });
  return { supervisor, log };
}

/**
 * The status table rows of a supervisor now: the registered URL, `passing` for a running
 * instance (else its state), the pid and the restart count.
 *
 * @example
 * ```ts
 * console.log(renderTable(statusRows(supervisor, registry)));
 * ```
 */
export function statusRows(supervisor: Supervisor, registry: Registry): StatusRow[] {
  return supervisor.instanceStates().map((state) => {
    const entry = registry.service(state.id);
    return {
      service: state.service,
      instance: state.id,
      url: entry ? `${entry.Meta.scheme === 'https' ? 'https' : 'http'}://${entry.Address}:${entry.Port}` : '-',
      status: state.state === InstanceStateKind.Running ? 'passing' : state.state,
      pid: state.pid === undefined ? '-' : String(state.pid),
      restarts: String(state.restarts),
    };
  });
}
