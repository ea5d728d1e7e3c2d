/**
 * Parsing of backend URLs: `sqlite:<path>` (relative to a base directory), `postgres://`,
 * `nats://`, `amqp://`, `etcd://`, `http(s)://`. A bad URL is a `SY_CONFIG_INVALID` naming the
 * config field it came from.
 */
import { isAbsolute, resolve } from 'node:path';
import { type ConfigIssue, invalidConfig, isSwitchyardError } from '@switchyard/core';

const bad = (field: string, message: string): Error => invalidConfig([{ path: field, message }]);

/** A backend URL split into its scheme and the rest, with a `sqlite:` path made absolute. */
export interface BackendUrl {
  /** Lower case, without the colon: `sqlite`, `postgres`, `nats`, ... */
  readonly scheme: string;
  /** The URL as given (for drivers), or the absolute file path for `sqlite:`. */
  readonly target: string;
}

/**
 * Splits a backend URL, checking that its scheme is one of `allowed`.
 *
 * @param field - the config path named in errors (`sagas.store`)
 * @param baseDir - what a relative `sqlite:` path is relative to
 * @throws SwitchyardError `SY_CONFIG_INVALID`
 * @example
 * ```ts
 * parseBackendUrl('sqlite:sagas.sqlite', ['sqlite', 'postgres'], 'sagas.store', '/srv/data');
 * // { scheme: 'sqlite', target: '/srv/data/sagas.sqlite' }
 * ```
 */
export function parseBackendUrl(url: string, allowed: readonly string[], field: string, baseDir: string): BackendUrl {
  const match = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(url.trim());
  const expected = `expected one of ${allowed.map((s) => `${s}:`).join(', ')}`;
  if (match === null) throw bad(field, `"${url}" has no scheme; ${expected}`);
  const scheme = (match[1] ?? '').toLowerCase().replace(/ql$/, '');
  if (!allowed.includes(scheme)) throw bad(field, `unsupported scheme "${match[1]}:"; ${expected}`);
  if (scheme === 'sqlite') {
    const path = (match[2] ?? '').replace(/^\/\//, '');
    if (path === '') throw bad(field, `sqlite: needs a file path, such as "sqlite:sagas.sqlite"`);
    return { scheme, target: isAbsolute(path) ? path : resolve(baseDir, path) };
  }
  if (!URL.canParse(url)) throw bad(field, `"${url}" is not a valid URL`);
  return { scheme, target: url };
}

/**
 * Takes Switchyard's own query parameters (`?schema=`, `?stream=`) off a driver URL, so the
 * driver never sees them. A parameter not in `known` stays in the URL for the driver.
 *
 * @example
 * ```ts
 * takeUrlParams('postgres://db/app?schema=shop&sslmode=require', ['schema'], 'sagas.store');
 * // { url: 'postgres://db/app?sslmode=require', params: { schema: 'shop' } }
 * ```
 */
export function takeUrlParams(
  url: string,
  known: readonly string[],
  field: string,
): { url: string; params: Record<string, string> } {
  const parsed = new URL(url);
  const params: Record<string, string> = {};
  for (const key of known) {
    const value = parsed.searchParams.get(key);
    if (value === null) continue;
    if (value === '') throw bad(field, `?${key}= must not be empty`);
    params[key] = value;
    parsed.searchParams.delete(key);
  }
  return { url: Object.keys(params).length === 0 ? url : parsed.toString(), params };
}

/**
 * Runs an adapter's options resolver so its errors name the config field: `<field>.url` (the URL
 * the field holds) becomes `<field>`, `<field>.schema` stays (a `?schema=` parameter).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` with the renamed paths
 * @example
 * ```ts
 * checkAdapterOptions(() => resolvePostgresSagaStoreOptions(options, 'sagas.store'), 'sagas.store', 'url');
 * ```
 */
export function checkAdapterOptions(resolve: () => unknown, field: string, urlKey: string): void {
  try {
    resolve();
  } catch (err) {
    if (!isSwitchyardError(err, 'SY_CONFIG_INVALID')) throw err;
    const issues = (err.details as { issues?: ConfigIssue[] } | undefined)?.issues ?? [];
    throw invalidConfig(
      issues.map((issue) => ({
        path: issue.path === `${field}.${urlKey}` || issue.path.startsWith(`${field}.${urlKey}[`) ? field : issue.path,
        message: issue.message,
      })),
    );
  }
}
