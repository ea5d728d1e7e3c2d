/**
 * Structured JSON logs over pino: one line per record with `component`, and `trace_id`,
 * `span_id`, `trace_flags` whenever a span is active, so logs join traces. Levels per
 * component from options or `SWITCHYARD_LOG_LEVEL`; a built-in pretty form for terminals.
 */
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { invalidConfig, resolveOptions } from '@switchyard/core';
import pino from 'pino';
import * as z from 'zod';
import { type LogLevel, levelFor, parseLogLevelSpec } from './log-levels.ts';
import { type LineSink, prettyDestination } from './pretty-log.ts';

/** A Switchyard logger (a pino logger). */
export type Logger = pino.Logger;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The component name written on every line and used to pick its level, e.g. `gateway`. */
  component: string;
  /**
   * A level (`debug`) or a level spec (`info,gateway=debug,saga=warn`) from which this
   * component's level is picked. @default `SWITCHYARD_LOG_LEVEL`, else `info`
   */
  level?: string;
  /** One coloured human-readable line per record instead of JSON. @default true when writing to a TTY */
  pretty?: boolean;
  /** ANSI colours in pretty mode. @default true when the destination is a TTY and `NO_COLOR` is unset */
  colors?: boolean;
  /** Where lines go (anything with `write(string)`). @default standard output */
  destination?: LineSink;
  /** Environment read for `SWITCHYARD_LOG_LEVEL` and `NO_COLOR`. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

const loggerOptionsSchema = z.strictObject({
  component: z.string().min(1),
  level: z.string().min(1).optional(),
  pretty: z.boolean().optional(),
  colors: z.boolean().optional(),
});

const FLAGS = ['00', '01'] as const;

/** pino mixin: the active span's ids. Returns a fresh object (pino merges into it). */
function traceFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const ctx = span.spanContext();
  if (!isSpanContextValid(ctx)) return {};
  return { trace_id: ctx.traceId, span_id: ctx.spanId, trace_flags: FLAGS[ctx.traceFlags & 1] as string };
}

function resolveLevel(
  component: string,
  level: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): LogLevel {
  const fromEnv = env.SWITCHYARD_LOG_LEVEL;
  const envLevel = fromEnv ? levelFor(parseLogLevelSpec(fromEnv, 'SWITCHYARD_LOG_LEVEL'), component, 'info') : 'info';
  if (level === undefined) return envLevel;
  return levelFor(parseLogLevelSpec(level, 'logger.level'), component, envLevel);
}

/**
 * Creates a JSON logger for `component`.
 *
 * Level precedence: the `level` option (a level, or the entry for this component in a spec),
 * then `SWITCHYARD_LOG_LEVEL`, then `info`.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad option or level spec
 * @example
 * ```ts
 * const log = createLogger({ component: 'gateway' });
 * log.info({ route: 'orders' }, 'route added');
 * // {"level":30,"time":...,"component":"gateway","route":"orders","msg":"route added"}
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  // destination and env are checked apart: resolveOptions deep-freezes what it parses.
  const { destination, env: envOption, ...plain } = options;
  if (destination !== undefined && typeof (destination as Partial<LineSink>).write !== 'function') {
    throw invalidConfig([{ path: 'logger.destination', message: 'expected a stream with write(string)' }]);
  }
  const resolved = resolveOptions(loggerOptionsSchema, plain, 'logger');
  const env = envOption ?? process.env;
  const level = resolveLevel(resolved.component, resolved.level, env);
  const tty = ((destination ?? process.stdout) as { isTTY?: boolean }).isTTY === true;
  const pretty = resolved.pretty ?? tty;
  const colours = resolved.colors ?? (tty && env.NO_COLOR === undefined);
  // Plain JSON to stdout keeps pino's own fast destination.
  const stream = pretty ? prettyDestination(destination ?? process.stdout, colours) : destination;
  return pino(
    {
      level,
      base: { pid: process.pid, component: resolved.component },
      mixin: traceFields,
    },
    stream as pino.DestinationStream | undefined,
  );
}
