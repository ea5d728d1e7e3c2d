/**
 * What the CLI commands that drive a running system share (`switchyard saga`, `switchyard
 * rollout`): finding the admin API, calling it with `SWITCHYARD_ADMIN_TOKEN`, and turning
 * failures into messages and exit codes.
 */
import { isSwitchyardError } from '@switchyard/core';
import { loadConfigFile } from './load-config.ts';

/** Exit codes of the commands that talk to an admin API. */
export const AdminExit = {
  Ok: 0,
  /** The admin API failed or is unreachable. */
  Failed: 1,
  /** Bad flags, or a config without an admin API. */
  Usage: 2,
  /** What the command named does not exist. */
  NotFound: 3,
  /** The action does not fit the current state (or it changed meanwhile). */
  Conflict: 4,
} as const;
/** A value of {@link AdminExit}. */
export type AdminExit = (typeof AdminExit)[keyof typeof AdminExit];

/** Where a command prints and what it reads; replaced in tests. */
export interface AdminCommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof fetch;
}

/** The process's streams, environment and `fetch`. */
export const defaultAdminIo: AdminCommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  fetch: (...args) => fetch(...args),
};

/** A mistake in the command line or config: printed as `error: ...`, exit 2. */
export class AdminUsageError extends Error {}

/** A failed call: its message is printed as is, with its exit code. */
export class AdminCallFailure extends Error {
  readonly exitCode: AdminExit;
  constructor(exitCode: AdminExit, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** An admin API answer: its status and JSON body. */
export interface AdminAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** How to find the admin API. */
export interface AdminTarget {
  /** `--admin <url>`: wins over the config. */
  readonly admin?: string | undefined;
  /** The config file whose `admin:` (or `gateway.admin`) says where it listens. */
  readonly config: string;
}

function hostUrl(host: string, port: number): string {
  // A wildcard listen address is reached on loopback.
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * The admin API's base URL: `--admin`, else `admin:` of the config file, else (with
 * `gatewayAdmin`) the gateway's own `gateway.admin`.
 *
 * @throws AdminUsageError for a bad `--admin`, an unreadable config or one without an admin API
 * @example
 * ```ts
 * adminBaseUrl({ config: 'switchyard.yaml' }, { gatewayAdmin: false }); // 'http://127.0.0.1:9000'
 * ```
 */
export function adminBaseUrl(target: AdminTarget, options: { readonly gatewayAdmin: boolean }): string {
  if (target.admin !== undefined) {
    if (!URL.canParse(target.admin)) {
      throw new AdminUsageError(
        `--admin: expected a URL such as http://127.0.0.1:9000, got ${JSON.stringify(target.admin)}`,
      );
    }
    return new URL(target.admin).href.replace(/\/+$/, '');
  }
  let loaded: ReturnType<typeof loadConfigFile>;
  try {
    loaded = loadConfigFile(target.config);
  } catch (err) {
    throw new AdminUsageError(
      `${isSwitchyardError(err) ? `${err.code}: ${err.message}` : String(err)}\n(or pass --admin <url> of a running system)`,
    );
  }
  const { admin } = loaded.config;
  if (admin !== false) return hostUrl(admin.host, admin.port);
  const gatewayAdmin = loaded.config.gateway.admin;
  if (options.gatewayAdmin && gatewayAdmin?.host !== undefined && gatewayAdmin.port !== undefined) {
    return hostUrl(gatewayAdmin.host, gatewayAdmin.port);
  }
  throw new AdminUsageError(
    options.gatewayAdmin
      ? `${loaded.path}: admin is false and gateway.admin is not set; pass --admin <url>`
      : `${loaded.path}: admin is false, so there is no admin API to talk to; pass --admin <url>`,
  );
}

/**
 * Calls the admin API with `SWITCHYARD_ADMIN_TOKEN` as a bearer token (when set), 15 s at most.
 *
 * @param startHint - how to start what serves the admin API, for the unreachable message
 * @throws AdminCallFailure `SY_CLI_ADMIN_UNREACHABLE` (exit 1) when nothing answers, or when the
 *   answer is not JSON
 * @example
 * ```ts
 * const answer = await callAdmin(defaultAdminIo, base, 'GET', '/admin/sagas', { startHint: 'switchyard up' });
 * ```
 */
export async function callAdmin(
  io: AdminCommandIo,
  base: string,
  method: 'GET' | 'POST',
  path: string,
  options: { readonly body?: unknown; readonly startHint: string },
): Promise<AdminAnswer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = io.env.SWITCHYARD_ADMIN_TOKEN?.trim();
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await io.fetch(`${base}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const reason = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new AdminCallFailure(
      AdminExit.Failed,
      `error SY_CLI_ADMIN_UNREACHABLE: cannot reach the admin API at ${base} (${reason}).\n` +
        `Start it with ${options.startHint}, or pass --admin <url> of the one running.`,
    );
  }
  const text = await res.text();
  try {
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  } catch {
    throw new AdminCallFailure(
      AdminExit.Failed,
      `error: ${base}${path} answered ${res.status} with a body that is not JSON`,
    );
  }
}

/** The code and message of an error answer (`HTTP_<status>` when the body has none). */
export function answerError(answer: AdminAnswer): { readonly code: string; readonly message: string } {
  const error = (answer.body.error ?? {}) as { code?: string; message?: string };
  const code = error.code ?? `HTTP_${answer.status}`;
  return { code, message: `error ${code}: ${error.message ?? `the admin API answered ${answer.status}`}` };
}

/**
 * Runs a command's action: usage errors exit 2, call failures with their code, anything else 1.
 *
 * @example
 * ```ts
 * process.exitCode = await runAdminCommand(defaultAdminIo, async () => { ... });
 * ```
 */
export async function runAdminCommand(io: AdminCommandIo, action: () => Promise<void>): Promise<AdminExit> {
  try {
    await action();
    return AdminExit.Ok;
  } catch (err) {
    if (err instanceof AdminUsageError) {
      io.err(`error: ${err.message}\n`);
      return AdminExit.Usage;
    }
    if (err instanceof AdminCallFailure) {
      io.err(`${err.message}\n`);
      return err.exitCode;
    }
    io.err(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return AdminExit.Failed;
  }
}
