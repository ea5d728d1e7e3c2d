import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { Gateway } from '@kubernetes-models/istio/networking.istio.io/v1/Gateway';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication';
import type { ConfigIssue } from '@switchyard/core';
import { meshError } from '../errors.ts';

/** An Istio resource as plain JSON: `apiVersion`, `kind`, `metadata`, `spec`. */
export interface IstioResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly spec: Record<string, unknown>;
}

interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  readonly prototype: { validate(): void };
}

/** The kinds the validator knows, by `apiVersion/kind`. */
const models: ReadonlyMap<string, ModelClass> = new Map(
  [VirtualService, DestinationRule, Gateway, PeerAuthentication, AuthorizationPolicy].map(
    (m) => [`${m.apiVersion}/${m.kind}`, m as unknown as ModelClass] as const,
  ),
);

/** Istio's duration syntax: Go's `time.ParseDuration` units, as the CRDs' `duration()` reads them. */
const DURATION = /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/;
/** DNS-1123 subdomain (host names, FQDNs), optionally with a leading `*.` wildcard. */
const DNS_1123_SUBDOMAIN = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** DNS-1123 label (metadata names of these kinds, subset names). */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Fields (by name, at any depth of `spec`) that hold a duration. */
const durationFields = new Set([
  'timeout',
  'perTryTimeout',
  'backoff',
  'connectTimeout',
  'idleTimeout',
  'interval',
  'baseEjectionTime',
  'ttl',
  'maxConnectionDuration',
]);

/**
 * Checks Istio resources as the API server and Istio's webhook would, and stricter than the
 * schemas of `@kubernetes-models/istio` alone: each object goes through its model's
 * `validate()` (the CRD's OpenAPI schema: types, enums, required fields), then through checks
 * those schemas lack:
 *
 * - **unknown fields**: a key the schema does not define (`spec.htp`), with a "did you mean";
 * - **weights**: integers 0..100 that sum to 100 across an HTTP route's destinations;
 * - **durations**: Istio's syntax (`"5s"`, `"250ms"`, `"1h30m"`), not `"10 seconds"` or `"5"`;
 * - **names**: hosts are DNS-1123 names (or `*.`-wildcards, or `*`), `metadata.name` and subset
 *   names DNS-1123 labels;
 * - **ports**: 1..65535.
 *
 * Each issue's path is `<kind>/<name>: <instancePath>` (`VirtualService/orders: /spec/http/0/route/0/weight`).
 *
 * @returns every issue, empty when all objects are valid
 * @example
 * ```ts
 * validateIstioResources([{ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService',
 *   metadata: { name: 'orders' }, spec: { hosts: ['orders'], htp: [] } }]);
 * // [{ path: 'VirtualService/orders: /spec/htp', message: 'unknown field (did you mean "http"?)' }]
 * ```
 */
export function validateIstioResources(resources: readonly unknown[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [index, resource] of resources.entries()) issues.push(...validateOne(resource, index));
  return issues;
}

/**
 * {@link validateIstioResources}, throwing instead of returning the issues.
 *
 * @throws SwitchyardError `SY_MESH_ISTIO_INVALID` with `details.issues`
 * @example
 * ```ts
 * assertValidIstioResources(generateIstioResources(mesh, { namespace: 'shop' }).resources);
 * ```
 */
export function assertValidIstioResources(resources: readonly unknown[]): void {
  const issues = validateIstioResources(resources);
  if (issues.length > 0) {
    throw meshError(
      'SY_MESH_ISTIO_INVALID',
      `invalid Istio resources:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
      { details: { issues: issues.map((i) => ({ path: i.path, message: i.message })) } },
    );
  }
}

function validateOne(resource: unknown, index: number): ConfigIssue[] {
  if (!isRecord(resource)) return [{ path: `[${index}]`, message: 'expected an object' }];
  const kind = typeof resource.kind === 'string' ? resource.kind : '?';
  const metadata = isRecord(resource.metadata) ? resource.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : `[${index}]`;
  const label = `${kind}/${name}`;
  const model = models.get(`${String(resource.apiVersion)}/${kind}`);
  if (model === undefined) {
    return [
      {
        path: `${label}: /apiVersion`,
        message: `unsupported kind ${JSON.stringify(`${String(resource.apiVersion)}/${kind}`)}; expected one of ${[...models.keys()].join(', ')}`,
      },
    ];
  }
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string) =>
    issues.push({ path: `${label}: ${path === '' ? '/' : path}`, message });

  // The model's validator reads every property its schema defines, at every object it visits,
  // and enumerates the keys of maps (labels, headers): whatever is present but never read is a
  // field the schema does not know.
  const probe = createProbe();
  try {
    model.prototype.validate.call(probe.wrap(resource, ''));
  } catch (err) {
    for (const e of ajvErrors(err)) add(e.instancePath, e.message ?? 'invalid');
  }
  for (const { path, key, known } of probe.unknownFields(resource)) {
    add(`${path}/${key}`, `unknown field${suggest(key, known)}`);
  }

  if (typeof metadata.name !== 'string' || !DNS_1123_LABEL.test(metadata.name) || metadata.name.length > 63) {
    add(
      '/metadata/name',
      `expected a DNS-1123 label (lower-case letters, digits, "-"; at most 63), got ${show(metadata.name)}`,
    );
  }
  if (
    metadata.namespace !== undefined &&
    (typeof metadata.namespace !== 'string' || !DNS_1123_LABEL.test(metadata.namespace))
  ) {
    add('/metadata/namespace', `expected a DNS-1123 label, got ${show(metadata.namespace)}`);
  }
  walk(resource.spec, '/spec', (value, path, key) => {
    if (durationFields.has(key) && (typeof value === 'string' || typeof value === 'number')) {
      if (typeof value !== 'string' || !DURATION.test(value)) {
        add(path, `expected an Istio duration such as "5s", "250ms" or "1h30m", got ${show(value)}`);
      }
    }
    if ((key === 'number' || key === 'port') && typeof value === 'number') {
      if (!Number.isInteger(value) || value < 1 || value > 65_535) add(path, `expected a port 1..65535, got ${value}`);
    }
    if (key === 'hosts' && Array.isArray(value)) {
      for (const [i, host] of value.entries()) checkHost(host, `${path}/${i}`, add);
    }
    if (key === 'host' && typeof value !== 'object') checkHost(value, path, add);
    if (key === 'subsets' && Array.isArray(value)) {
      for (const [i, subset] of value.entries()) {
        const subsetName = isRecord(subset) ? subset.name : undefined;
        if (typeof subsetName !== 'string' || !DNS_1123_LABEL.test(subsetName)) {
          add(`${path}/${i}/name`, `expected a DNS-1123 label, got ${show(subsetName)}`);
        }
      }
    }
  });
  if (kind === 'VirtualService') checkWeights(resource.spec, add);
  return issues;
}

function checkHost(host: unknown, path: string, add: (path: string, message: string) => void): void {
  if (host === '*') return;
  // A gateway server's host may be `namespace/host`.
  const bare = typeof host === 'string' ? host.replace(/^[a-z0-9-]+\//, '') : host;
  if (typeof bare !== 'string' || bare.length > 253 || !DNS_1123_SUBDOMAIN.test(bare)) {
    add(path, `expected a DNS-1123 host name (lower-case letters, digits, "-", "."), got ${show(host)}`);
  }
}

/** Each HTTP route's destinations: weights are integers 0..100; with more than one, they sum to 100. */
function checkWeights(spec: unknown, add: (path: string, message: string) => void): void {
  if (!isRecord(spec) || !Array.isArray(spec.http)) return;
  for (const [r, route] of spec.http.entries()) {
    if (!isRecord(route) || !Array.isArray(route.route)) continue;
    let sum = 0;
    let weighted = 0;
    for (const [d, destination] of route.route.entries()) {
      if (!isRecord(destination) || destination.weight === undefined) continue;
      const weight = destination.weight;
      weighted++;
      if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 100) {
        add(`/spec/http/${r}/route/${d}/weight`, `expected an integer 0..100, got ${show(weight)}`);
      } else sum += weight;
    }
    if ((weighted > 0 || route.route.length > 1) && sum !== 100) {
      add(`/spec/http/${r}/route`, `weights must sum to 100, got ${sum}`);
    }
  }
}

interface AjvError {
  readonly instancePath: string;
  readonly message?: string;
}

function ajvErrors(err: unknown): AjvError[] {
  const errors = isRecord(err) && Array.isArray(err.errors) ? (err.errors as AjvError[]) : undefined;
  if (errors !== undefined) return errors;
  return [{ instancePath: '', message: err instanceof Error ? err.message : String(err) }];
}

/** Records, per object path, the keys a validator read and whether it enumerated the keys. */
function createProbe() {
  const read = new Map<string, Set<string>>();
  const enumerated = new Set<string>();
  const note = (path: string, key: string) => {
    const keys = read.get(path) ?? new Set<string>();
    read.set(path, keys);
    keys.add(key);
  };
  const wrap = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    return new Proxy(value, {
      get(target, key, receiver) {
        const out: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return out;
        note(path, key);
        return wrap(out, `${path}/${key}`);
      },
      has(target, key) {
        if (typeof key === 'string') note(path, key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        enumerated.add(path);
        return Reflect.ownKeys(target);
      },
    });
  };
  /** Keys present in `value` that the validator never read, where it did not treat the object as a map. */
  const unknownFields = (root: unknown) => {
    const out: { path: string; key: string; known: readonly string[] }[] = [];
    const visit = (value: unknown, path: string) => {
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) visit(item, `${path}/${i}`);
        return;
      }
      if (!isRecord(value)) return;
      const known = read.get(path);
      // An object the validator never looked into (a type error above it, or a free-form
      // field) has no known properties to compare with.
      const checked = known !== undefined && !enumerated.has(path);
      for (const [key, child] of Object.entries(value)) {
        if (checked && !known.has(key)) out.push({ path, key, known: [...known] });
        else visit(child, `${path}/${key}`);
      }
    };
    visit(root, '');
    return out;
  };
  return { wrap, unknownFields };
}

function walk(value: unknown, path: string, visit: (value: unknown, path: string, key: string) => void): void {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) walk(item, `${path}/${i}`, visit);
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, child] of Object.entries(value)) {
    visit(child, `${path}/${key}`, key);
    walk(child, `${path}/${key}`, visit);
  }
}

function suggest(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3))
    ? ` (did you mean "${best}"?)`
    : '';
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}
