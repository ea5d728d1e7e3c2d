/**
 * `switchyard saga ls|show|retry|abort`: operate on the sagas of a running system through its
 * admin API (`switchyard up` serves it on `admin:`).
 */
import type { Command, CommanderError } from 'commander';
import {
  type AdminAnswer,
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

/** Exit codes of `switchyard saga`: 3 no saga with that id, 4 the saga is not parked (or changed meanwhile). */
export const SagaExit = AdminExit;
export type SagaExit = AdminExit;

/** Where the command prints and what it reads; replaced in tests. */
export type SagaCommandIo = AdminCommandIo;

/** Flags every saga subcommand takes. */
export interface SagaCommonOptions {
  readonly admin?: string | undefined;
  readonly config: string;
  readonly json?: boolean | undefined;
}

const statuses = ['running', 'compensating', 'completed', 'compensated', 'parked', 'aborted'];

interface SagaRecordView {
  id: string;
  name: string;
  status: string;
  createdAt: number;
  updatedAt: number;
  version: number;
  parkedDirection?: string;
  error?: { code: string; message: string };
}

interface TransitionView {
  seq: number;
  kind: string;
  at: number;
  step?: string;
  attempt?: number;
  error?: { code: string; message: string };
  owner?: string;
  reason?: string;
}

/** Turns an error answer into the exit code and message the user sees. */
function failure(answer: AdminAnswer): AdminCallFailure {
  let { message } = answerError(answer);
  const { code } = answerError(answer);
  let exit: AdminExit = AdminExit.Failed;
  if (code === 'SY_CLI_SAGAS_NOT_CONFIGURED' || answer.status === 400) exit = AdminExit.Usage;
  else if (answer.status === 404) exit = AdminExit.NotFound;
  else if (answer.status === 409) exit = AdminExit.Conflict;
  else if (answer.status === 401 || answer.status === 403) {
    message += '\n(set SWITCHYARD_ADMIN_TOKEN to a token with the needed scope)';
  }
  return new AdminCallFailure(exit, message);
}

/** The admin API of `switchyard up` for these flags, and a call to it. */
function api(io: SagaCommandIo, options: SagaCommonOptions) {
  const base = adminBaseUrl(options, { gatewayAdmin: false });
  const startHint = `\`switchyard up -c ${options.config}\``;
  return (method: 'GET' | 'POST', path: string, body?: unknown) =>
    callAdmin(io, base, method, path, { startHint, ...(body === undefined ? {} : { body }) });
}

function time(ms: number): string {
  return new Date(ms).toISOString();
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function renderList(sagas: readonly SagaRecordView[], nextCursor: unknown): string {
  if (sagas.length === 0) return 'no sagas\n';
  const rows = [
    ['ID', 'NAME', 'STATUS', 'UPDATED', 'ERROR'],
    ...sagas.map((s) => [s.id, s.name, s.status, time(s.updatedAt), s.error?.code ?? '']),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : pad(cell, widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  if (typeof nextCursor === 'string') lines.push(`(more: --cursor ${nextCursor})`);
  return `${lines.join('\n')}\n`;
}

const kindLabels: Readonly<Record<string, string>> = {
  'saga.started': 'started',
  'step.started': 'step',
  'step.done': 'step done',
  'step.failed': 'step FAILED',
  'saga.compensating': 'compensating',
  'compensation.started': 'compensate',
  'compensation.done': 'compensated',
  'compensation.failed': 'compensate FAILED',
  'saga.completed': 'completed',
  'saga.compensated': 'compensated (saga)',
  'saga.parked': 'PARKED',
  'saga.resumed': 'resumed',
  'saga.retried': 'retried by operator',
  'saga.aborted': 'aborted by operator',
};

/**
 * A readable timeline of a saga: header, then one line per transition with its offset from the
 * start, the step, attempt and error; compensations are indented under a `<-` marker.
 *
 * @example
 * ```ts
 * process.stdout.write(renderTimeline(saga, history));
 * ```
 */
export function renderTimeline(saga: SagaRecordView, history: readonly TransitionView[]): string {
  const lines = [
    `saga ${saga.id}  ${saga.name}  ${saga.status.toUpperCase()}`,
    `  created ${time(saga.createdAt)}  updated ${time(saga.updatedAt)}  version ${saga.version}`,
  ];
  if (saga.error) lines.push(`  error   ${saga.error.code}: ${saga.error.message}`);
  if (saga.status === 'parked') {
    lines.push(
      `  parked while going ${saga.parkedDirection ?? 'forward'}: \`switchyard saga retry ${saga.id}\` or \`switchyard saga abort ${saga.id} --reason ...\``,
    );
  }
  lines.push('');
  const start = history[0]?.at ?? saga.createdAt;
  for (const t of history) {
    const compensation = t.kind.startsWith('compensation.') || t.kind === 'saga.compensating';
    const offset = pad(`+${t.at - start}ms`, 10);
    const label = pad(`${compensation ? '<- ' : ''}${kindLabels[t.kind] ?? t.kind}`, 20);
    const parts = [`  ${offset}${label}`];
    if (t.step !== undefined) parts.push(t.step);
    if (t.attempt !== undefined && t.attempt > 1) parts.push(`(attempt ${t.attempt})`);
    if (t.error) parts.push(`${t.error.code}: ${t.error.message}`);
    if (t.reason) parts.push(`reason: ${t.reason}`);
    if (t.owner && (t.kind === 'saga.retried' || t.kind === 'saga.aborted')) parts.push(`by ${t.owner}`);
    lines.push(parts.join(' ').trimEnd());
  }
  return `${lines.join('\n')}\n`;
}

/** `switchyard saga ls`. */
export function runSagaList(
  options: SagaCommonOptions & { status?: string; name?: string; limit?: string; cursor?: string },
  io: SagaCommandIo = defaultAdminIo,
): Promise<SagaExit> {
  return runAdminCommand(io, async () => {
    if (options.status !== undefined && !statuses.includes(options.status)) {
      throw new AdminUsageError(
        `--status: expected one of ${statuses.join(', ')}, got ${JSON.stringify(options.status)}`,
      );
    }
    if (options.limit !== undefined && !/^[1-9]\d{0,3}$/.test(options.limit)) {
      throw new AdminUsageError(`--limit: expected an integer from 1 to 1000, got ${JSON.stringify(options.limit)}`);
    }
    const call = api(io, options);
    const query = new URLSearchParams();
    if (options.status) query.set('status', options.status);
    if (options.name) query.set('name', options.name);
    if (options.limit) query.set('limit', options.limit);
    if (options.cursor) query.set('cursor', options.cursor);
    const qs = query.size > 0 ? `?${query}` : '';
    const result = await call('GET', `/admin/sagas${qs}`);
    if (result.status !== 200) throw failure(result);
    if (options.json) io.out(`${JSON.stringify(result.body, null, 2)}\n`);
    else io.out(renderList((result.body.sagas ?? []) as SagaRecordView[], result.body.nextCursor));
  });
}

/** `switchyard saga show <id>`. */
export function runSagaShow(
  id: string,
  options: SagaCommonOptions,
  io: SagaCommandIo = defaultAdminIo,
): Promise<SagaExit> {
  return runAdminCommand(io, async () => {
    const result = await api(io, options)('GET', `/admin/sagas/${encodeURIComponent(id)}`);
    if (result.status !== 200) throw failure(result);
    if (options.json) io.out(`${JSON.stringify(result.body, null, 2)}\n`);
    else io.out(renderTimeline(result.body.saga as SagaRecordView, (result.body.history ?? []) as TransitionView[]));
  });
}

/** `switchyard saga retry <id>` and `switchyard saga abort <id> --reason r`. */
export function runSagaAction(
  action: 'retry' | 'abort',
  id: string,
  options: SagaCommonOptions & { reason?: string },
  io: SagaCommandIo = defaultAdminIo,
): Promise<SagaExit> {
  return runAdminCommand(io, async () => {
    const reason = options.reason?.trim();
    if (action === 'abort' && !reason)
      throw new AdminUsageError('abort needs --reason <text>: say why the saga is given up');
    const result = await api(io, options)(
      'POST',
      `/admin/sagas/${encodeURIComponent(id)}/${action}`,
      reason ? { reason } : {},
    );
    if (result.status !== 200) throw failure(result);
    const saga = result.body.saga as SagaRecordView;
    if (options.json) io.out(`${JSON.stringify(result.body, null, 2)}\n`);
    else
      io.out(
        action === 'retry'
          ? `saga ${saga.id} is ${saga.status} again; a running engine picks it up at its next poll\n`
          : `saga ${saga.id} is aborted\n`,
      );
  });
}

/**
 * Adds `switchyard saga ls|show|retry|abort` to the program. Bad flags exit 2 (commander's own
 * usage errors included).
 *
 * @example
 * ```ts
 * registerSagaCommands(new Command().name('switchyard'));
 * ```
 */
export function registerSagaCommands(program: Command): void {
  const saga = program
    .command('saga')
    .description("list, inspect, retry and abort sagas through a running system's admin API")
    .addHelpText(
      'after',
      '\nThe admin API is --admin <url>, else http://<admin.host>:<admin.port> of -c switchyard.yaml.\n' +
        'SWITCHYARD_ADMIN_TOKEN, when set, is sent as a bearer token.\n' +
        'Exit codes: 0 ok, 1 failed or unreachable, 2 bad usage or config, 3 not found, 4 not parked.',
    );
  const common = (command: Command) =>
    command
      .option('-c, --config <file>', 'config file naming admin:', 'switchyard.yaml')
      .option('--admin <url>', 'admin API base URL (default: from the config)')
      .option('--json', 'print the JSON the admin API returned')
      .exitOverride((err: CommanderError) => {
        if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.exitCode === 0)
          process.exit(0);
        process.exit(SagaExit.Usage);
      });
  common(saga.command('ls').description('list sagas, newest first'))
    .option('--status <status>', `only this status (${statuses.join(', ')})`)
    .option('--name <name>', 'only sagas of this definition')
    .option('--limit <n>', 'at most n (1-1000)', '50')
    .option('--cursor <cursor>', 'the next page, from a previous listing')
    .action(async (opts: SagaCommonOptions & { status?: string; name?: string; limit?: string; cursor?: string }) => {
      process.exitCode = await runSagaList(opts);
    });
  common(saga.command('show').argument('<id>').description("a saga's state and its step timeline")).action(
    async (id: string, opts: SagaCommonOptions) => {
      process.exitCode = await runSagaShow(id, opts);
    },
  );
  common(saga.command('retry').argument('<id>').description('make a parked saga active again'))
    .option('--reason <text>', 'why (recorded in its history)')
    .action(async (id: string, opts: SagaCommonOptions & { reason?: string }) => {
      process.exitCode = await runSagaAction('retry', id, opts);
    });
  common(saga.command('abort').argument('<id>').description('give up on a parked saga'))
    .option('--reason <text>', 'why (required; recorded in its history)')
    .action(async (id: string, opts: SagaCommonOptions & { reason?: string }) => {
      process.exitCode = await runSagaAction('abort', id, opts);
    });
  saga.exitOverride((err: CommanderError) => {
    process.exit(err.exitCode === 0 ? 0 : SagaExit.Usage);
  });
}
