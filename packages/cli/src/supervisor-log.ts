import type { OutputStream } from './child-process.ts';
import { prefix } from './log-prefix.ts';

/** `text`: prefixed lines (coloured on a terminal); `json`: one JSON object per line. */
export const LogFormat = { Text: 'text', Json: 'json' } as const;
export type LogFormat = (typeof LogFormat)[keyof typeof LogFormat];

/** Severity of a supervisor line. */
export type LogLevel = 'info' | 'warn' | 'error';

/** Which instance a supervisor line is about. */
export interface LogSubject {
  readonly service?: string | undefined;
  readonly instance?: string | undefined;
}

/** Where `switchyard up` writes its own lines and every child's output. */
export interface SupervisorLog {
  readonly format: LogFormat;
  /** A line of the supervisor's own; in text form `switchyard: <msg>`. */
  log(level: LogLevel, msg: string, subject?: LogSubject, fields?: Record<string, unknown>): void;
  /** A multi-line block for people (the status table): as is in text, one `msg` in JSON. */
  block(text: string, fields?: Record<string, unknown>): void;
  /** One line a child printed. */
  child(service: string, instance: string, stream: OutputStream, line: string): void;
}

/** Options of {@link createSupervisorLog}. */
export interface SupervisorLogOptions {
  readonly format: LogFormat;
  readonly write: (text: string) => void;
  /** Colour the instance prefixes (text only). @default false */
  readonly colour?: boolean;
  /** Width the instance labels are padded to (text only). @default 10 */
  readonly labelWidth?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

// pino's numeric levels, so a child's own JSON lines keep their severity.
const pinoLevels: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * Creates the log of `switchyard up`. As text, each child line gets a `service-1 | ` prefix
 * (coloured per service on a terminal) and supervisor lines start with `switchyard: `. As JSON,
 * every line is one object `{ time, level, service, instance, stream, msg }`, `stream` being
 * `stdout`, `stderr` or `supervisor`; a child line that is itself a JSON object (pino and the
 * like) is nested as `msg` exactly as printed instead of being quoted again, and its numeric
 * pino `level` names the level.
 *
 * @example
 * ```ts
 * const log = createSupervisorLog({ format: 'json', write: (t) => process.stdout.write(t) });
 * log.child('orders', 'orders-1', 'stdout', '{"level":30,"msg":"listening"}');
 * // {"time":"...","level":"info","service":"orders","instance":"orders-1","stream":"stdout","msg":{"level":30,"msg":"listening"}}
 * ```
 */
export function createSupervisorLog(options: SupervisorLogOptions): SupervisorLog {
  const { format, write } = options;
  const colour = options.colour ?? false;
  const labelWidth = options.labelWidth ?? 10;
  const now = options.now ?? Date.now;
  const time = () => new Date(now()).toISOString();
  const head = (level: string, service: string | undefined, instance: string | undefined, stream: string) =>
    `{"time":${JSON.stringify(time())},"level":${JSON.stringify(level)}${service === undefined ? '' : `,"service":${JSON.stringify(service)}`}${instance === undefined ? '' : `,"instance":${JSON.stringify(instance)}`},"stream":${JSON.stringify(stream)}`;
  const extra = (fields: Record<string, unknown> | undefined) => {
    if (fields === undefined) return '';
    const text = JSON.stringify(fields);
    return text === '{}' ? '' : `,${text.slice(1, -1)}`;
  };

  if (format === LogFormat.Text) {
    const labels = new Map<string, string>();
    return {
      format,
      log: (_level, msg) => write(`switchyard: ${msg}\n`),
      block: (text) => write(`${text}\n`),
      child(_service, instance, _stream, line) {
        let label = labels.get(instance);
        if (label === undefined) {
          label = prefix(instance, labelWidth, colour);
          labels.set(instance, label);
        }
        write(`${label}${line}\n`);
      },
    };
  }
  return {
    format,
    log: (level, msg, subject, fields) =>
      write(
        `${head(level, subject?.service, subject?.instance, 'supervisor')}${extra(fields)},"msg":${JSON.stringify(msg)}}\n`,
      ),
    block: (text, fields) =>
      write(`${head('info', undefined, undefined, 'supervisor')}${extra(fields)},"msg":${JSON.stringify(text)}}\n`),
    child(service, instance, stream, line) {
      const nested = asJsonObject(line);
      if (nested === undefined) {
        write(`${head('info', service, instance, stream)},"msg":${JSON.stringify(line)}}\n`);
        return;
      }
      const level = typeof nested.level === 'number' ? pinoLevels[nested.level] : nested.level;
      write(`${head(typeof level === 'string' ? level : 'info', service, instance, stream)},"msg":${line.trim()}}\n`);
    },
  };
}

function asJsonObject(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
