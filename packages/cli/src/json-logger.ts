import { hostname } from 'node:os';
import { isSwitchyardError } from '@switchyard/core';
import { redactSecretValues } from '@switchyard/gateway';

/** pino's numeric levels, so log shippers and `pino-pretty` read the lines as pino's own. */
const levels = { info: 30, warn: 40, error: 50 } as const;

/** A logger with the gateway's `GatewayLogger` shape, writing one JSON object per line. */
export interface JsonLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/**
 * A logger writing pino-compatible JSON lines: `{"level":30,"time":1700000000000,"pid":1,
 * "hostname":"h","name":"switchyard-gateway","msg":"...",...fields}`. An `err` field is
 * serialised as pino's standard serializer does (`type`, `message`, `stack`), plus `code` and
 * `details` for Switchyard errors.
 *
 * @example
 * ```ts
 * const logger = createJsonLogger('switchyard-gateway', (line) => process.stdout.write(line));
 * logger.info({ url: 'http://127.0.0.1:8080' }, 'gateway listening');
 * ```
 */
export function createJsonLogger(name: string, write: (line: string) => void): JsonLogger {
  const base = { pid: process.pid, hostname: hostname(), name };
  const log = (level: keyof typeof levels) => (obj: Record<string, unknown>, msg: string) => {
    const fields: Record<string, unknown> = { ...obj };
    if (fields.err !== undefined) fields.err = serializeError(fields.err);
    // Values the config declared secret (`${env:...}`, `${file:...}`) are masked in every line.
    write(
      `${redactSecretValues(JSON.stringify({ level: levels[level], time: Date.now(), ...base, ...fields, msg }))}\n`,
    );
  };
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  return {
    type: err.name,
    message: err.message,
    stack: err.stack,
    ...(isSwitchyardError(err) ? { code: err.code, details: err.details } : {}),
  };
}
