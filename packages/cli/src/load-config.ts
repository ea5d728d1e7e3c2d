import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type ConfigIssue, configIssues, deepFreeze, formatPath, invalidConfig } from '@switchyard/core';
import { addSecretValues } from '@switchyard/gateway';
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import { CONFIG_VERSION, type SwitchyardConfig, switchyardConfigSchema } from './config-schema.ts';
import { substituteEnv } from './env-substitution.ts';
import { cliError } from './errors.ts';
import { collectSecretFields, redactSecrets } from './secrets.ts';

/** A config file, validated, with the facts needed to resolve relative paths. */
export interface LoadedConfig {
  readonly config: Readonly<SwitchyardConfig>;
  /** Absolute path of the file. */
  readonly path: string;
  /** Directory relative paths in the config are resolved against. */
  readonly baseDir: string;
  /** Non-fatal notes, e.g. a newer minor version. */
  readonly warnings: readonly string[];
  /**
   * The config's secrets: values from `${env:...}` and `${file:...}` and values of secret-named
   * fields (`token`, `password`, ...). Pass output through `redactSecrets(text, secrets)`.
   */
  readonly secrets: ReadonlySet<string>;
}

/**
 * Reads, substitutes `${ENV}`, `${env:SECRET}` and `${file:path}` (relative to the file),
 * version-checks and validates a `switchyard.yaml`. The secrets it finds are declared
 * process-wide (`addSecretValues` of `@switchyard/gateway`), so the admin API and logs mask them.
 *
 * @throws SwitchyardError `SY_CLI_CONFIG_NOT_FOUND`, `SY_CLI_CONFIG_SYNTAX`, `SY_CLI_ENV_MISSING`,
 *   `SY_CLI_SECRET_FILE_UNREADABLE`, `SY_CLI_CONFIG_VERSION`, or `SY_CONFIG_INVALID` whose
 *   message lists every issue as `switchyard.yaml:14:5 gateway.routes[0].timeout: ...` (secret
 *   values in messages replaced by `[redacted]`)
 * @example
 * ```ts
 * const loaded = loadConfigFile('switchyard.yaml');
 * console.log(redactSecrets(JSON.stringify(loaded.config), loaded.secrets));
 * ```
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
  return { ...parseConfig(text, path, env, dirname(path)), path, baseDir: dirname(path) };
}

/**
 * As {@link loadConfigFile}, from text; `source` names the file in messages, `baseDir` is where
 * `${file:...}` paths start.
 *
 * @example
 * ```ts
 * const { config, secrets } = parseConfig('version: 1\ngateway: { routes: [] }', 'inline.yaml', process.env, process.cwd());
 * ```
 */
export function parseConfig(
  text: string,
  source: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  baseDir: string = process.cwd(),
): { config: Readonly<SwitchyardConfig>; warnings: string[]; secrets: ReadonlySet<string> } {
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
  const unreadable: string[] = [];
  const secrets = new Set<string>();
  visit(doc, {
    Scalar(_key, node, ancestors) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const result = substituteEnv(node.value, env, { baseDir });
      const at = `${name}:${position(node, lines)}`;
      for (const m of result.missing) {
        missing.push(`${at} \${${m.kind === undefined ? '' : `${m.kind}:`}${m.name}} is not set`);
      }
      for (const f of result.unreadable) {
        unreadable.push(`${at} ${fieldPath(ancestors, node)}: cannot read \${file:${f.reference}}: ${f.reason}`);
      }
      for (const secret of result.secrets) secrets.add(secret);
      // A secret stays a string: `${env:PIN}` holding 0123 must not turn into the number 123.
      node.value = node.type === 'PLAIN' && result.secrets.length === 0 ? retype(result.value) : result.value;
    },
  });
  if (unreadable.length > 0) {
    throw cliError('SY_CLI_SECRET_FILE_UNREADABLE', unreadable.join('\n'), { details: { files: unreadable } });
  }
  if (missing.length > 0) {
    throw cliError(
      'SY_CLI_ENV_MISSING',
      `${missing.join('\n')}\n(set the variable, or give a default with \${NAME:-default}; \${env:NAME} is a secret and takes none)`,
      { details: { missing } },
    );
  }

  const data = doc.toJS() as unknown;
  collectSecretFields(data, secrets);
  addSecretValues(secrets);
  const warnings = checkVersion(data, doc, lines, name);
  const result = switchyardConfigSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const issues: ConfigIssue[] = configIssues(switchyardConfigSchema, result.error).map((issue) => ({
      path: `${name}:${locate(doc, issue.path, lines, issue.message.startsWith('unknown field'))} ${issue.path}`,
      // zod quotes bad values ("got string \"...\""): a secret must not reach the message.
      message: redactSecrets(issue.message, secrets),
    }));
    throw invalidConfig(issues, source);
  }
  return { config: deepFreeze(result.data), warnings, secrets };
}

/** The config path (`gateway.admin.auth.tokens[0].token`) of a scalar, from its YAML ancestors. */
function fieldPath(ancestors: readonly unknown[], node: Node): string {
  const keys: Array<string | number> = [];
  const chain = [...ancestors, node];
  for (const [i, item] of chain.entries()) {
    if (isPair(item)) keys.push(isScalar(item.key) ? String(item.key.value) : '?');
    else if (isSeq(item)) {
      const index = item.items.indexOf(chain[i + 1] as never);
      if (index >= 0) keys.push(index);
    }
  }
  return formatPath(keys);
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
