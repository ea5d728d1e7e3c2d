import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type ConfigIssue, configIssues, deepFreeze, invalidConfig } from '@switchyard/core';
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import { CONFIG_VERSION, type SwitchyardConfig, switchyardConfigSchema } from './config-schema.ts';
import { substituteEnv } from './env-substitution.ts';
import { cliError } from './errors.ts';

/** A config file, validated, with the facts needed to resolve relative paths. */
export interface LoadedConfig {
  readonly config: Readonly<SwitchyardConfig>;
  /** Absolute path of the file. */
  readonly path: string;
  /** Directory relative paths in the config are resolved against. */
  readonly baseDir: string;
  /** Non-fatal notes, e.g. a newer minor version. */
  readonly warnings: readonly string[];
}

/**
 * Reads, substitutes `${ENV}`, version-checks and validates a `switchyard.yaml`.
 *
 * @throws SwitchyardError `SY_CLI_CONFIG_NOT_FOUND`, `SY_CLI_CONFIG_SYNTAX`, `SY_CLI_ENV_MISSING`,
 *   `SY_CLI_CONFIG_VERSION`, or `SY_CONFIG_INVALID` whose message lists every issue as
 *   `switchyard.yaml:14:5 gateway.routes[0].timeout: ...`
 */
export function loadConfigFile(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LoadedConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw cliError('SY_CLI_CONFIG_NOT_FOUND', `cannot read config file ${path}: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  }
  return { ...parseConfig(text, path, env), path, baseDir: dirname(path) };
}

/** As {@link loadConfigFile}, from text; `source` names the file in messages. */
export function parseConfig(
  text: string,
  source: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): { config: Readonly<SwitchyardConfig>; warnings: string[] } {
  const name = source.split(/[\\/]/).pop() ?? source;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const at = first?.linePos?.[0];
    throw cliError(
      'SY_CLI_CONFIG_SYNTAX',
      doc.errors
        .map((e) => `${name}:${e.linePos?.[0].line ?? '?'}:${e.linePos?.[0].col ?? '?'} ${e.message.split('\n')[0]}`)
        .join('\n'),
      { details: { path: source, line: at?.line ?? 0, column: at?.col ?? 0 } },
    );
  }

  const missing: string[] = [];
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const result = substituteEnv(node.value, env);
      for (const m of result.missing) missing.push(`${name}:${position(node, lines)} \${${m.name}} is not set`);
      node.value = node.type === 'PLAIN' ? retype(result.value) : result.value;
    },
  });
  if (missing.length > 0) {
    throw cliError(
      'SY_CLI_ENV_MISSING',
      `${missing.join('\n')}\n(set the variable, or give a default with \${NAME:-default})`,
      { details: { missing } },
    );
  }

  const data = doc.toJS() as unknown;
  const warnings = checkVersion(data, doc, lines, name);
  const result = switchyardConfigSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const issues: ConfigIssue[] = configIssues(switchyardConfigSchema, result.error).map((issue) => ({
      path: `${name}:${locate(doc, issue.path, lines, issue.message.startsWith('unknown field'))} ${issue.path}`,
      message: issue.message,
    }));
    throw invalidConfig(issues, source);
  }
  return { config: deepFreeze(result.data), warnings };
}

/**
 * Types a substituted plain scalar as YAML would have (`8080` a number, `true` a boolean), as
 * OpenTelemetry's file configuration does; anything that would parse as structure stays a
 * string, so a variable cannot add keys or items.
 */
function retype(value: string): unknown {
  const parsed = parseDocument(value);
  return parsed.errors.length === 0 && isScalar(parsed.contents) ? parsed.contents.value : value;
}

function checkVersion(data: unknown, doc: Document, lines: LineCounter, name: string): string[] {
  const raw = (data as { version?: unknown } | null)?.version;
  if (raw === undefined) return []; // the schema reports it as required, with position
  const match = /^(\d+)(?:\.(\d+))?$/.exec(String(raw));
  const at = `${name}:${locate(doc, 'version', lines)}`;
  if (!match) {
    throw cliError(
      'SY_CLI_CONFIG_VERSION',
      `${at} version: expected "${CONFIG_VERSION.major}" or "${CONFIG_VERSION.major}.<minor>", got ${JSON.stringify(raw)}`,
    );
  }
  const major = Number(match[1]);
  const minor = Number(match[2] ?? 0);
  if (major !== CONFIG_VERSION.major) {
    throw cliError(
      'SY_CLI_CONFIG_VERSION',
      `${at} version: this switchyard reads config version ${CONFIG_VERSION.major}.x, the file declares ${String(raw)}`,
      { details: { declared: String(raw), supported: `${CONFIG_VERSION.major}.${CONFIG_VERSION.minor}` } },
    );
  }
  if (minor > CONFIG_VERSION.minor) {
    return [
      `${at} version ${String(raw)} is newer than this switchyard (${CONFIG_VERSION.major}.${CONFIG_VERSION.minor}); newer fields will be rejected`,
    ];
  }
  return [];
}

/**
 * `line:column` of the deepest YAML node along a formatted path like `gateway.routes[0].timeout`:
 * the value when it exists, the key for an unknown field or an empty value, and the nearest
 * parent for a missing field.
 */
function locate(doc: Document, formattedPath: string, lines: LineCounter, atKey = false): string {
  const keys: Array<string | number> = [];
  for (const part of formattedPath.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (part[2] !== undefined) keys.push(Number(part[2]));
    else if (part[1] !== undefined) keys.push(part[1]);
  }
  let node: unknown = doc.contents;
  let best: unknown = node;
  for (const [i, key] of keys.entries()) {
    const last = i === keys.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      node = pair.value;
      best = (last && atKey) || node === null ? pair.key : node;
      if (node === null) break;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (item === undefined) break;
      best = item;
      node = item;
    } else break;
  }
  return position(best as Node | null, lines);
}

function position(node: Node | null | undefined, lines: LineCounter): string {
  const offset = node?.range?.[0];
  if (offset === undefined) return '1:1';
  const pos = lines.linePos(offset);
  return `${pos.line}:${pos.col}`;
}
