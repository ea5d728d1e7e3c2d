import { formatDuration, isSwitchyardError } from '@switchyard/core';
import { middlewareKinds } from '@switchyard/gateway';
import type { SwitchyardConfig } from './config-schema.ts';
import { loadConfigFile } from './load-config.ts';

/** One gateway route as `switchyard routes` shows it. */
export interface RouteView {
  readonly name: string | undefined;
  readonly path: string;
  /** `prefix` or `exact`. */
  readonly match: string;
  /** `undefined`: any method. */
  readonly methods: readonly string[] | undefined;
  /** `undefined`: any host. */
  readonly hosts: readonly string[] | undefined;
  /** Where requests go. */
  readonly target:
    | { readonly kind: 'service'; readonly service: string }
    | { readonly kind: 'upstreams'; readonly upstreams: readonly string[] }
    | { readonly kind: 'aggregate'; readonly services: readonly string[] };
  /** The route's timeout, else the gateway's. */
  readonly timeoutMs: number;
  /** `default` (the gateway's retry), `off`, or the route's own settings. */
  readonly retry:
    | 'default'
    | 'off'
    | { readonly attempts?: number | undefined; readonly statuses?: readonly number[] | undefined };
  /** Middleware names in the order they run: the gateway's list, then the route's. */
  readonly middleware: { readonly gateway: readonly string[]; readonly route: readonly string[] };
}

const middlewareNames = (entries: readonly object[]) =>
  entries.map((entry) => Object.keys(entry).find((key) => (middlewareKinds as readonly string[]).includes(key)) ?? '?');

/**
 * The gateway routes of a validated config, in match order as written.
 *
 * @example
 * ```ts
 * routeViews(loadConfigFile('switchyard.yaml').config)[0]?.target; // { kind: 'service', service: 'orders' }
 * ```
 */
export function routeViews(config: Pick<SwitchyardConfig, 'gateway'>): RouteView[] {
  const { gateway } = config;
  const global = middlewareNames(gateway.middleware);
  return gateway.routes.map((route) => ({
    name: route.name,
    path: route.path,
    match: route.match,
    methods: route.methods,
    hosts: route.hosts,
    target:
      route.service !== undefined
        ? { kind: 'service', service: route.service }
        : route.upstreams !== undefined
          ? { kind: 'upstreams', upstreams: route.upstreams }
          : { kind: 'aggregate', services: [...new Set(route.aggregate?.calls.map((c) => c.service) ?? [])] },
    timeoutMs: route.timeout ?? gateway.timeout,
    retry:
      route.retry === undefined
        ? 'default'
        : route.retry === false
          ? 'off'
          : { attempts: route.retry.attempts, statuses: route.retry.statuses },
    middleware: { gateway: global, route: middlewareNames(route.middleware) },
  }));
}

/**
 * Renders routes as an aligned table: PATH, METHODS, HOSTS, TARGET, TIMEOUT, RETRY, MIDDLEWARE.
 *
 * @example
 * ```ts
 * process.stdout.write(`${renderRoutes(routeViews(config))}\n`);
 * ```
 */
export function renderRoutes(routes: readonly RouteView[]): string {
  const header = ['PATH', 'METHODS', 'HOSTS', 'TARGET', 'TIMEOUT', 'RETRY', 'MIDDLEWARE'];
  const rows = routes.map((r) => [
    r.match === 'exact' ? `= ${r.path}` : r.path,
    r.methods?.join(',') ?? '*',
    r.hosts?.join(',') ?? '*',
    r.target.kind === 'service'
      ? `service ${r.target.service}`
      : r.target.kind === 'upstreams'
        ? r.target.upstreams.join(', ')
        : `aggregate ${r.target.services.join(', ')}`,
    formatDuration(r.timeoutMs),
    typeof r.retry === 'string'
      ? r.retry
      : [
          r.retry.attempts === undefined ? '' : `${r.retry.attempts} attempts`,
          r.retry.statuses === undefined ? '' : `on ${r.retry.statuses.join(',')}`,
        ]
          .filter(Boolean)
          .join(' ') || 'custom',
    [...r.middleware.gateway, ...r.middleware.route].join(', ') || '-',
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * `switchyard routes`: prints the gateway routes of a config as a table, or as JSON with
 * `json`. Returns the exit code: 0, or 2 when the config is missing or invalid (every problem
 * printed to stderr).
 *
 * @example
 * ```ts
 * process.exitCode = runRoutes({ config: 'switchyard.yaml', json: true });
 * ```
 */
export function runRoutes(opts: {
  config: string;
  json?: boolean | undefined;
  write?: (text: string) => void;
  writeError?: (text: string) => void;
}): 0 | 2 {
  const write = opts.write ?? ((text: string) => process.stdout.write(text));
  const writeError = opts.writeError ?? ((text: string) => process.stderr.write(text));
  let config: SwitchyardConfig;
  try {
    config = loadConfigFile(opts.config).config;
  } catch (err) {
    writeError(
      `${isSwitchyardError(err) ? `error ${err.code}: ${err.message}` : `error: ${err instanceof Error ? err.message : String(err)}`}\n`,
    );
    return 2;
  }
  const routes = routeViews(config);
  if (opts.json) write(`${JSON.stringify(routes, null, 2)}\n`);
  else if (routes.length === 0) write('no routes\n');
  else write(`${renderRoutes(routes)}\n`);
  return 0;
}
