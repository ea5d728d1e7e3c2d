/**
 * `switchyard rollout start|status|promote|abort <name>`: drive the gateway's progressive
 * delivery through an admin API (`switchyard up`'s on `admin:`, or `switchyard gateway`'s on
 * `gateway.admin`).
 */
import type { Command, CommanderError } from 'commander';
import {
  AdminCallFailure,
  type AdminCommandIo,
  AdminExit,
  AdminUsageError,
  adminBaseUrl,
  answerError,
  callAdmin,
  defaultAdminIo,
  runAdminCommand,
} from './admin-client.ts';

/** Exit codes of `switchyard rollout`: 3 no rollout with that name, 4 the action does not fit its phase. */
export const RolloutExit = AdminExit;
export type RolloutExit = AdminExit;

/** Where the command prints and what it reads; replaced in tests. */
export type RolloutCommandIo = AdminCommandIo;

/** Flags of every rollout subcommand. */
export interface RolloutCommandOptions {
  readonly admin?: string | undefined;
  readonly config: string;
  readonly json?: boolean | undefined;
  readonly reason?: string | undefined;
}

/** The subcommands. */
export type RolloutAction = 'start' | 'status' | 'promote' | 'abort';

interface TransitionView {
  at: number;
  from: string;
  to: string;
  step: number;
  canaryWeight: number;
  reason: string;
  by: string;
}

interface SubsetStatsView {
  requests: number;
  errors: number;
  errorRate: number;
  p99Ms: number;
}

interface RolloutView {
  name: string;
  route: string;
  stable: string;
  canary: string;
  strategy: string;
  steps: number[];
  phase: string;
  step: number;
  canaryWeight: number;
  version: number;
  controller: boolean;
  observed?: { canary: SubsetStatsView; stable: SubsetStatsView };
  history: TransitionView[];
}

function failure(status: number, body: Record<string, unknown>): AdminCallFailure {
  const { code } = answerError({ status, body });
  let { message } = answerError({ status, body });
  let exit: AdminExit = AdminExit.Failed;
  if (code === 'SY_GATEWAY_ROLLOUT_NOT_FOUND') exit = AdminExit.NotFound;
  else if (status === 409) exit = AdminExit.Conflict;
  else if (status === 404) {
    message += '\n(is this the admin API of a gateway with rollouts? check --admin)';
  } else if (status === 401 || status === 403) {
    message += '\n(set SWITCHYARD_ADMIN_TOKEN to a token with the needed scope: write for start, promote and abort)';
  }
  return new AdminCallFailure(exit, message);
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

/**
 * A readable status of a rollout: phase, weights, steps, this replica's observations, history.
 *
 * @example
 * ```ts
 * process.stdout.write(renderRollout(view));
 * ```
 */
export function renderRollout(view: RolloutView): string {
  const stableWeight =
    view.phase === 'idle' ? '(config)' : `${view.phase === 'promoted' ? 0 : 100 - displayedWeight(view)}%`;
  const lines = [
    `rollout ${view.name}  ${view.phase.toUpperCase()}  (${view.strategy}, route ${view.route})`,
    `  weights  ${view.stable} ${stableWeight}  ${view.canary} ${view.phase === 'idle' ? '(config)' : `${displayedWeight(view)}%`}`,
    `  steps    ${view.steps.map((w, i) => (i === view.step && view.phase === 'progressing' ? `[${w}]` : String(w))).join(' ')}`,
    `  version  ${view.version}${view.controller ? '  (this replica controls it)' : ''}`,
  ];
  if (view.observed !== undefined) {
    const { canary, stable } = view.observed;
    lines.push(
      `  observed canary ${canary.requests} req, errors ${percent(canary.errorRate)}, p99 ${canary.p99Ms}ms; ` +
        `stable ${stable.requests} req, errors ${percent(stable.errorRate)}, p99 ${stable.p99Ms}ms`,
    );
  }
  if (view.history.length > 0) {
    lines.push('', '  history');
    for (const h of view.history) {
      lines.push(
        `  ${new Date(h.at).toISOString()}  ${h.from} -> ${h.to}  canary ${h.canaryWeight}%  ${h.reason}  (${h.by})`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function displayedWeight(view: RolloutView): number {
  if (view.phase === 'promoted') return 100;
  if (view.phase === 'rolled-back' || view.phase === 'aborted') return 0;
  return view.canaryWeight;
}

/**
 * Runs `switchyard rollout <action> <name>` and resolves to its exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runRollout('status', 'orders', { config: 'switchyard.yaml', admin: 'http://127.0.0.1:9901' });
 * ```
 */
export async function runRollout(
  action: RolloutAction,
  name: string,
  options: RolloutCommandOptions,
  io: RolloutCommandIo = defaultAdminIo,
): Promise<RolloutExit> {
  return runAdminCommand(io, async () => {
    if (!/^[a-z0-9][a-z0-9._-]{0,62}$/i.test(name)) {
      throw new AdminUsageError(
        `<name>: expected a rollout name (letters, digits, ".", "_", "-"), got ${JSON.stringify(name)}`,
      );
    }
    const base = adminBaseUrl(options, { gatewayAdmin: true });
    const reason = options.reason?.trim();
    const path =
      action === 'status'
        ? `/admin/rollouts/${encodeURIComponent(name)}`
        : `/admin/rollouts/${encodeURIComponent(name)}/${action}${reason ? `?reason=${encodeURIComponent(reason)}` : ''}`;
    const result = await callAdmin(io, base, action === 'status' ? 'GET' : 'POST', path, {
      startHint: 'switchyard up or switchyard gateway',
    });
    if (result.status !== 200) throw failure(result.status, result.body);
    if (options.json) io.out(`${JSON.stringify(result.body, null, 2)}\n`);
    else io.out(renderRollout(result.body.rollout as RolloutView));
  });
}

/**
 * Adds `switchyard rollout start|status|promote|abort <name>` to the program. Bad flags exit 2.
 *
 * @example
 * ```ts
 * registerRolloutCommands(new Command().name('switchyard'));
 * ```
 */
export function registerRolloutCommands(program: Command): void {
  const rollout = program
    .command('rollout')
    .description("start, watch, promote and abort the gateway's canary and blue-green rollouts")
    .addHelpText(
      'after',
      '\nThe admin API is --admin <url>, else admin: (switchyard up) or gateway.admin of -c switchyard.yaml.\n' +
        'SWITCHYARD_ADMIN_TOKEN, when set, is sent as a bearer token (write scope for start, promote, abort).\n' +
        'Exit codes: 0 ok, 1 failed or unreachable, 2 bad usage, 3 unknown rollout, 4 conflict (e.g. promote when not progressing).\n' +
        "On Istio: switchyard mesh istio --rollouts <admin-url> exports each rollout's current weights as VirtualService routes.",
    );
  const descriptions: Record<RolloutAction, string> = {
    start: 'start a rollout at its first step',
    status: "a rollout's phase, weights, observations and history",
    promote: 'send all traffic to the canary now and end the rollout',
    abort: 'send all traffic back to stable now and end the rollout',
  };
  for (const action of ['start', 'status', 'promote', 'abort'] as const) {
    const command = rollout
      .command(action)
      .argument('<name>')
      .description(descriptions[action])
      .option('-c, --config <file>', 'config file naming the admin API', 'switchyard.yaml')
      .option('--admin <url>', 'admin API base URL (default: from the config)')
      .option('--json', 'print the JSON the admin API returned');
    if (action !== 'status') command.option('--reason <text>', 'why (recorded in the history)');
    command
      .exitOverride((err: CommanderError) => {
        process.exit(err.exitCode === 0 ? 0 : RolloutExit.Usage);
      })
      .action(async (name: string, opts: RolloutCommandOptions) => {
        process.exitCode = await runRollout(action, name, opts);
      });
  }
  rollout.exitOverride((err: CommanderError) => {
    process.exit(err.exitCode === 0 ? 0 : RolloutExit.Usage);
  });
}
