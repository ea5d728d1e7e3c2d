/**
 * Per-component log levels from a spec string such as `info,gateway=debug,saga=warn`
 * (the form of `SWITCHYARD_LOG_LEVEL`): a bare level is the default, `component=level`
 * overrides it for a component and its dotted sub-components (`saga` covers `saga.outbox`).
 */
import { invalidConfig } from '@switchyard/core';

/** Log levels, quietest last. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A parsed level spec. */
export interface LogLevelSpec {
  /** The level for components without an entry. */
  readonly defaultLevel: LogLevel | undefined;
  /** Component -> level. */
  readonly components: ReadonlyMap<string, LogLevel>;
}

/** True when `value` names a log level. */
export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * Parses `info,gateway=debug,saga=warn`. Whitespace is ignored; levels are case-insensitive.
 *
 * @param source - where the spec came from, named in errors (`SWITCHYARD_LOG_LEVEL`)
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming `source` and the bad entry
 * @example
 * ```ts
 * parseLogLevelSpec('info,gateway=debug').components.get('gateway'); // 'debug'
 * ```
 */
export function parseLogLevelSpec(spec: string, source = 'logLevel'): LogLevelSpec {
  let defaultLevel: LogLevel | undefined;
  const components = new Map<string, LogLevel>();
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const component = eq === -1 ? undefined : entry.slice(0, eq).trim();
    const level = (eq === -1 ? entry : entry.slice(eq + 1)).trim().toLowerCase();
    if (!isLogLevel(level)) {
      throw invalidConfig([{ path: source, message: `"${entry}": expected one of ${LOG_LEVELS.join(', ')}` }]);
    }
    if (component === undefined) defaultLevel = level;
    else if (component === '')
      throw invalidConfig([{ path: source, message: `"${entry}": missing component name before "="` }]);
    else components.set(component, level);
  }
  return { defaultLevel, components };
}

/**
 * The level of `component` under `spec`: its own entry, else its nearest dotted ancestor's
 * (`saga` for `saga.outbox`), else the spec's default, else `fallback`.
 *
 * @example
 * ```ts
 * levelFor(parseLogLevelSpec('warn,saga=debug'), 'saga.outbox', 'info'); // 'debug'
 * ```
 */
export function levelFor(spec: LogLevelSpec, component: string, fallback: LogLevel): LogLevel {
  let name = component;
  for (;;) {
    const level = spec.components.get(name);
    if (level !== undefined) return level;
    const dot = name.lastIndexOf('.');
    if (dot === -1) break;
    name = name.slice(0, dot);
  }
  return spec.defaultLevel ?? fallback;
}
