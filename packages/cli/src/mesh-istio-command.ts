import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ConfigIssue, isSwitchyardError } from '@switchyard/core';
import { resolveGatewayOptions } from '@switchyard/gateway';
import {
  generateIstioResources,
  type IstioOptions,
  type IstioResource,
  type IstioRouteTraffic,
  istioFileName,
  toIstioJson,
  toIstioYaml,
} from '@switchyard/mesh';
import {
  AdminCallFailure,
  type AdminCommandIo,
  AdminUsageError,
  adminBaseUrl,
  answerError,
  callAdmin,
} from './admin-client.ts';
import type { SwitchyardConfig } from './config-schema.ts';
import { loadConfigFile } from './load-config.ts';
import { meshConfigFromSwitchyard } from './mesh-config-from-switchyard.ts';
import type { CommandIo } from './mesh-envoy-command.ts';

/** Exit codes of `switchyard mesh istio`. */
export const MeshIstioExit = {
  Ok: 0,
  /** The resources are invalid (every issue printed), the config has no Istio equivalent, or an apply failed. */
  Invalid: 1,
  /** Bad flags, or a config file that cannot be read or is not valid. */
  Usage: 2,
} as const;
export type MeshIstioExit = (typeof MeshIstioExit)[keyof typeof MeshIstioExit];

/** Flags of `switchyard mesh istio`, as commander passes them. */
export interface MeshIstioOptions {
  readonly config: string;
  readonly namespace?: string;
  readonly mtls?: boolean;
  readonly gatewayHost?: string;
  /** `sa` or `namespace/sa`: the service account the AuthorizationPolicies allow. */
  readonly gatewayServiceAccount?: string;
  /** `yaml` or `json`. */
  readonly output?: string;
  /** Write one file per resource into this directory instead of stdout. */
  readonly out?: string;
  readonly apply?: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly fieldManager?: string;
  readonly force?: boolean;
  /** Only `server`: the API server checks and admits the objects without storing them. */
  readonly dryRun?: string;
  /**
   * `--rollouts [admin-url]`: read the rollouts of a running gateway from its admin API and give
   * each rolled-out route the rollout's current weights. `true` (the flag without a URL) finds
   * the admin API in the config, as `switchyard rollout` does.
   */
  readonly rollouts?: string | boolean;
}

/**
 * Where `switchyard mesh istio` prints; with `--rollouts`, also how it calls the admin API
 * (`fetch`, and `env` for `SWITCHYARD_ADMIN_TOKEN`). Replaced in tests.
 */
export interface MeshIstioIo extends CommandIo {
  /** @default the global `fetch` */
  readonly fetch?: typeof fetch;
  /** @default `process.env` */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const processIo: MeshIstioIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * `switchyard mesh istio`: Istio resources (VirtualServices, DestinationRules, with `--mtls`
 * PeerAuthentication and AuthorizationPolicies, with `--gateway-host` a Gateway) generated from
 * `switchyard.yaml`'s gateway routes, subsets and traffic policies, checked by
 * `validateIstioResources`; printed as multi-document YAML (or a JSON List), written one file per
 * resource with `--out`, or applied to a cluster by server-side apply with `--apply`.
 *
 * With `--rollouts`, the weights of every route a running gateway is rolling out come from its
 * admin API (`GET /admin/rollouts`) instead of the file: the route's split becomes the
 * rollout's stable and canary weights in force (promoted: canary 100; aborted or rolled back:
 * stable 100), its matches, mirror, timeout and retries stay as configured. Rollouts never
 * started leave the configured traffic. Run it after each step (from CI, with `--apply`) and
 * the mesh follows the same plan as the gateway.
 *
 * @returns 0 when valid (and applied), 1 with every issue or failed object (or an admin API
 *   that cannot be read, or rolls out a route the file lacks), 2 for bad flags or config
 * @example
 * ```ts
 * process.exitCode = await runMeshIstio({ config: 'switchyard.yaml', namespace: 'shop', mtls: true });
 * process.exitCode = await runMeshIstio({ config: 'switchyard.yaml', rollouts: 'http://127.0.0.1:9901', apply: true });
 * ```
 */
export async function runMeshIstio(opts: MeshIstioOptions, io: MeshIstioIo = processIo): Promise<MeshIstioExit> {
  const usage = (message: string) => {
    io.err(`error: ${message}\n`);
    return MeshIstioExit.Usage;
  };
  const format = opts.output ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') return usage(`-o: expected yaml or json, got ${JSON.stringify(format)}`);
  const namespace = opts.namespace ?? 'default';
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    return usage(
      `--namespace: expected a DNS-1123 label (lower-case letters, digits, "-"), got ${JSON.stringify(namespace)}`,
    );
  }
  if (opts.dryRun !== undefined && opts.dryRun !== 'server') {
    return usage(
      `--dry-run: only "server" is supported (without --apply nothing is sent), got ${JSON.stringify(opts.dryRun)}`,
    );
  }
  const applyOnly = ['kubeconfig', 'context', 'fieldManager', 'force', 'dryRun'] as const;
  const stray = applyOnly.filter((k) => opts[k] !== undefined && opts[k] !== false);
  if (opts.apply !== true && stray.length > 0) {
    return usage(
      `${stray.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} need --apply`,
    );
  }
  if (opts.apply === true && opts.out !== undefined) return usage('give either --apply or --out, not both');
  if (typeof opts.rollouts === 'string' && !/^https?:\/\/[^/]/.test(opts.rollouts)) {
    return usage(
      `--rollouts: expected the admin API URL of a running gateway, such as http://127.0.0.1:9901, got ${JSON.stringify(opts.rollouts)}`,
    );
  }
  let gatewayAccount: { namespace?: string; name: string } | undefined;
  if (opts.gatewayServiceAccount !== undefined) {
    const [first, second, ...rest] = opts.gatewayServiceAccount.split('/');
    const parts = second === undefined ? [first] : [first, second];
    if (rest.length > 0 || parts.some((p) => p === undefined || !DNS_LABEL.test(p))) {
      return usage(
        `--gateway-service-account: expected <name> or <namespace>/<name>, got ${JSON.stringify(opts.gatewayServiceAccount)}`,
      );
    }
    gatewayAccount = second === undefined ? { name: first as string } : { namespace: first as string, name: second };
  }

  let loaded: ReturnType<typeof loadConfigFile>;
  try {
    loaded = loadConfigFile(opts.config);
  } catch (err) {
    return usage(isSwitchyardError(err) ? `${err.code}: ${err.message}` : String(err));
  }
  for (const warning of loaded.warnings) io.err(`warning: ${warning}\n`);

  const mapping = meshConfigFromSwitchyard(loaded.config);
  const traffic = istioTrafficFromSwitchyard(loaded.config);
  const issues: ConfigIssue[] = [...mapping.issues, ...traffic.issues];
  const warnings = [...mapping.warnings.map((w) => w.replaceAll('Envoy', 'Istio')), ...traffic.warnings];
  // Routes to fixed upstreams (`upstreams:`) have no Kubernetes Service to route to.
  const mesh = {
    ...mapping.mesh,
    routes: (mapping.mesh.routes ?? []).filter((r) => {
      if (!r.service.startsWith('static_')) return true;
      warnings.push(`route ${r.name ?? r.service}: fixed upstreams have no Kubernetes Service; left out`);
      return false;
    }),
    clusters: Object.fromEntries(Object.entries(mapping.mesh.clusters ?? {}).filter(([s]) => !s.startsWith('static_'))),
  };
  for (const warning of warnings) io.err(`warning: ${warning}\n`);
  if (issues.length > 0) return printIssues(io, `${loaded.path}: cannot be expressed in Istio`, issues);

  if (opts.rollouts !== undefined && opts.rollouts !== false) {
    let rollouts: readonly RolloutWeights[];
    try {
      rollouts = await readRollouts(opts.config, opts.rollouts, io);
    } catch (err) {
      if (err instanceof AdminUsageError) return usage(err.message);
      if (err instanceof AdminCallFailure) {
        io.err(`${err.message.replaceAll('--admin <url>', '--rollouts <admin-url>')}\n`);
        return MeshIstioExit.Invalid;
      }
      throw err;
    }
    const applied = applyRollouts(traffic.routes, new Set(mesh.routes.map((r) => r.name ?? '')), rollouts);
    for (const note of applied.notes) io.err(`${note}\n`);
    if (applied.issues.length > 0) {
      return printIssues(io, `the gateway's rollouts do not fit ${loaded.path}`, applied.issues);
    }
  }

  const options: IstioOptions = {
    namespace,
    mtls: opts.mtls === true,
    ...(opts.gatewayHost === undefined ? {} : { gatewayHost: opts.gatewayHost }),
    ...(gatewayAccount === undefined
      ? {}
      : {
          gatewayServiceAccount: gatewayAccount.name,
          ...(gatewayAccount.namespace === undefined ? {} : { gatewayNamespace: gatewayAccount.namespace }),
        }),
    subsets: traffic.subsets,
    traffic: traffic.routes,
  };
  let generated: ReturnType<typeof generateIstioResources>;
  try {
    generated = generateIstioResources(mesh, options);
  } catch (err) {
    if (isSwitchyardError(err) && Array.isArray(err.details.issues)) {
      return printIssues(io, `error ${err.code}`, err.details.issues as unknown as ConfigIssue[]);
    }
    throw err;
  }
  for (const warning of generated.warnings) io.err(`warning: ${warning}\n`);
  if (generated.issues.length > 0) return printIssues(io, 'invalid Istio resources', generated.issues);

  if (opts.apply === true) return apply(generated.resources, opts, io);
  if (opts.out !== undefined) {
    try {
      mkdirSync(opts.out, { recursive: true });
      for (const resource of generated.resources) {
        writeFileSync(join(opts.out, istioFileName(resource, format)), render([resource], format, true));
      }
    } catch (err) {
      io.err(`error: cannot write to ${opts.out}: ${(err as Error).message}\n`);
      return MeshIstioExit.Usage;
    }
    io.err(`wrote ${generated.resources.length} files to ${opts.out}\n`);
    return MeshIstioExit.Ok;
  }
  io.out(render(generated.resources, format, false));
  return MeshIstioExit.Ok;
}

function render(resources: readonly IstioResource[], format: 'yaml' | 'json', single: boolean): string {
  if (format === 'yaml') return toIstioYaml(resources);
  return single ? `${JSON.stringify(resources[0], null, 2)}\n` : toIstioJson(resources);
}

async function apply(
  resources: readonly IstioResource[],
  opts: MeshIstioOptions,
  io: CommandIo,
): Promise<MeshIstioExit> {
  let adapter: typeof import('@switchyard/adapter-kubernetes');
  try {
    adapter = await import('@switchyard/adapter-kubernetes');
  } catch (err) {
    io.err(
      `error: --apply needs @switchyard/adapter-kubernetes (npm i @switchyard/adapter-kubernetes): ${(err as Error).message}\n`,
    );
    return MeshIstioExit.Usage;
  }
  let results: Awaited<ReturnType<typeof adapter.serverSideApply>>;
  try {
    results = await adapter.serverSideApply(resources as unknown as Parameters<typeof adapter.serverSideApply>[0], {
      ...(opts.kubeconfig === undefined ? {} : { kubeconfig: opts.kubeconfig }),
      ...(opts.context === undefined ? {} : { context: opts.context }),
      fieldManager: opts.fieldManager ?? 'switchyard',
      force: opts.force === true,
      dryRun: opts.dryRun === 'server',
    });
  } catch (err) {
    io.err(`error: ${isSwitchyardError(err) ? `${err.code}: ` : ''}${(err as Error).message}\n`);
    return MeshIstioExit.Usage;
  }
  const suffix = opts.dryRun === 'server' ? ' (server dry run)' : ' (server-side apply)';
  let failed = 0;
  for (const r of results) {
    const id = `${r.kind.toLowerCase()}.${groupOf(resources, r.kind)}/${r.name}`;
    if (r.ok) io.out(`${id} ${r.result}${suffix}\n`);
    else {
      failed++;
      io.err(
        `error: ${id}: ${r.status === 0 ? '' : `${r.status} ${r.reason}: `}${r.message.replaceAll('\n', '\n  ')}\n`,
      );
    }
  }
  if (failed > 0) {
    io.err(`${failed} of ${results.length} resources not applied\n`);
    return MeshIstioExit.Invalid;
  }
  return MeshIstioExit.Ok;
}

function groupOf(resources: readonly IstioResource[], kind: string): string {
  const apiVersion = resources.find((r) => r.kind === kind)?.apiVersion ?? '';
  return apiVersion.split('/')[0] ?? '';
}

/** A rollout as `GET /admin/rollouts` shows it: the fields the Istio export reads. */
export interface RolloutWeights {
  readonly name: string;
  readonly route: string;
  readonly stable: string;
  readonly canary: string;
  readonly phase: string;
  readonly step: number;
  readonly steps: readonly number[];
  readonly version: number;
  /** The split in force; absent while idle (the route's configured traffic serves). */
  readonly split?: readonly { readonly subset: string; readonly weight: number }[];
}

/** `GET /admin/rollouts` of the admin API `--rollouts` names (or the config's). */
async function readRollouts(config: string, target: string | true, io: MeshIstioIo): Promise<RolloutWeights[]> {
  let base: string;
  try {
    base = adminBaseUrl({ config, ...(target === true ? {} : { admin: target }) }, { gatewayAdmin: true });
  } catch (err) {
    if (err instanceof AdminUsageError) {
      throw new AdminUsageError(`--rollouts: ${err.message.replaceAll('--admin <url>', '--rollouts <admin-url>')}`);
    }
    throw err;
  }
  const adminIo: AdminCommandIo = {
    out: io.out,
    err: io.err,
    env: io.env ?? process.env,
    fetch: io.fetch ?? ((...args) => fetch(...args)),
  };
  const answer = await callAdmin(adminIo, base, 'GET', '/admin/rollouts', {
    startHint: 'switchyard up or switchyard gateway',
  });
  if (answer.status !== 200) {
    let { message } = answerError(answer);
    if (answer.status === 401 || answer.status === 403) {
      message += '\n(set SWITCHYARD_ADMIN_TOKEN to a token with read scope)';
    }
    throw new AdminCallFailure(MeshIstioExit.Invalid, `${message}\n(reading the rollouts at ${base} for --rollouts)`);
  }
  const { rollouts } = answer.body as { rollouts?: unknown };
  if (!Array.isArray(rollouts)) {
    throw new AdminCallFailure(
      MeshIstioExit.Invalid,
      `error: ${base}/admin/rollouts answered without a rollouts list; is --rollouts the admin API of a gateway?`,
    );
  }
  return rollouts as RolloutWeights[];
}

/**
 * Puts each started rollout's split in force on its route's traffic policy (in place), keeping
 * the route's matches, mirror and sticky settings. Returns one note per rollout applied and an
 * issue for each rollout whose route the config has no Istio route for.
 *
 * @example
 * ```ts
 * const { notes, issues } = applyRollouts(traffic.routes, new Set(['orders']), rollouts);
 * ```
 */
export function applyRollouts(
  routes: Record<string, IstioRouteTraffic>,
  meshRoutes: ReadonlySet<string>,
  rollouts: readonly RolloutWeights[],
): { readonly notes: string[]; readonly issues: ConfigIssue[] } {
  const notes: string[] = [];
  const issues: ConfigIssue[] = [];
  for (const rollout of rollouts) {
    if (rollout.split === undefined) continue;
    if (!meshRoutes.has(rollout.route)) {
      issues.push({
        path: `rollouts.${rollout.name}.route`,
        message: `the gateway rolls out route ${JSON.stringify(rollout.route)}, which has no Istio route here (is -c the config that gateway runs?)`,
      });
      continue;
    }
    const { subset: _fixed, split: _configured, ...kept } = routes[rollout.route] ?? {};
    routes[rollout.route] = { ...kept, split: rollout.split.map((s) => ({ subset: s.subset, weight: s.weight })) };
    const weights = rollout.split.map((s) => `${s.subset} ${s.weight}%`).join(', ');
    const step = rollout.step >= 0 ? `, step ${rollout.step + 1} of ${rollout.steps.length}` : '';
    notes.push(
      `rollout ${rollout.name}: route ${rollout.route} at ${weights} (${rollout.phase}${step}, version ${rollout.version})`,
    );
  }
  return { notes, issues };
}

function printIssues(io: CommandIo, head: string, issues: readonly ConfigIssue[]): MeshIstioExit {
  io.err(`${head}:\n${issues.map((i) => `  ${i.path}: ${i.message}\n`).join('')}`);
  return MeshIstioExit.Invalid;
}

/** Subsets (as pod labels) and route traffic policies of the gateway config, in the mesh package's terms. */
export interface IstioTraffic {
  readonly subsets: Record<string, Record<string, Record<string, string>>>;
  readonly routes: Record<string, IstioRouteTraffic>;
  readonly issues: ConfigIssue[];
  readonly warnings: string[];
}

/**
 * Reads `gateway.subsets` and each route's `traffic` from the resolved gateway options. A subset
 * selector's `meta` becomes the pod labels of the Istio subset (the Kubernetes registry reads
 * registration meta from pod labels); `tags` have no label equivalent.
 *
 * @example
 * ```ts
 * const { subsets, routes, issues } = istioTrafficFromSwitchyard(loadConfigFile('switchyard.yaml').config);
 * // subsets: { orders: { v1: { version: 'v1' } } }, routes: { '/api/orders': { split: [...] } }
 * ```
 */
export function istioTrafficFromSwitchyard(config: SwitchyardConfig): IstioTraffic {
  const gateway = resolveGatewayOptions(config.gateway) as unknown as {
    readonly subsets?: Readonly<
      Record<string, Readonly<Record<string, { meta?: Record<string, string>; tags?: string[] }>>>
    >;
    readonly routes: readonly { readonly name: string; readonly traffic?: unknown }[];
  };
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const subsets: Record<string, Record<string, Record<string, string>>> = {};
  for (const [service, named] of Object.entries(gateway.subsets ?? {})) {
    for (const [subset, selector] of Object.entries(named)) {
      const at = `gateway.subsets.${service}.${subset}`;
      const labels = selector.meta ?? {};
      if (Object.keys(labels).length === 0) {
        issues.push({
          path: `${at}.tags`,
          message: 'Istio subsets select pods by labels: give `meta` (the pod labels) for this subset',
        });
        continue;
      }
      if ((selector.tags ?? []).length > 0) warnings.push(`${at}.tags: Istio subsets select by labels; tags left out`);
      subsets[service] = { ...subsets[service], [subset]: { ...labels } };
    }
  }
  const routes: Record<string, IstioRouteTraffic> = {};
  for (const route of gateway.routes) {
    const t = route.traffic as
      | {
          subset?: string;
          split?: readonly { subset: string; weight: number }[];
          match?: readonly ({ header: string } | { cookie: string })[];
          sticky?: { header: string } | { cookie: string };
          mirror?: { subset: string; percent: number };
        }
      | undefined;
    if (t === undefined || t === null) continue;
    routes[route.name] = {
      ...(t.subset === undefined ? {} : { subset: t.subset }),
      ...(t.split === undefined ? {} : { split: t.split.map((s) => ({ subset: s.subset, weight: s.weight })) }),
      ...(t.match === undefined
        ? {}
        : {
            match: t.match.map((m) => {
              const entry = m as { header?: string; cookie?: string; value: string; subset: string };
              return {
                ...(entry.header === undefined ? {} : { header: entry.header }),
                ...(entry.cookie === undefined ? {} : { cookie: entry.cookie }),
                value: entry.value,
                subset: entry.subset,
              };
            }),
          }),
      ...(t.sticky === undefined ? {} : { sticky: t.sticky }),
      ...(t.mirror === undefined ? {} : { mirror: { subset: t.mirror.subset, percent: t.mirror.percent } }),
    };
  }
  return { subsets, routes, issues, warnings };
}
