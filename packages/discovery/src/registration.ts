/**
 * Validation and normalisation of service registrations, accepting what Consul's agent accepts:
 * field names matched case-insensitively and with `_` ignored (Go's JSON decoder and Consul's key
 * translation do the same), `null` meaning absent, durations as Go strings or nanoseconds.
 */
import { type ConfigIssue, formatDuration, formatPath, HealthStatus, parseGoDuration } from '@switchyard/core';
import * as z from 'zod';
import { discoveryError } from './errors.ts';
import { type CheckProbe, CheckType, type HealthCheckDefinition, type ServiceWeights } from './types.ts';

/** A validated check, with defaults applied and durations in milliseconds. */
export interface CheckSpec {
  readonly checkId: string;
  readonly name: string;
  readonly notes: string;
  /** The status requested at registration, when one was. */
  readonly status: HealthStatus | undefined;
  readonly type: CheckType;
  /** Present for HTTP and TCP checks. */
  readonly probe: CheckProbe | undefined;
  readonly intervalMs: number | undefined;
  readonly ttlMs: number | undefined;
  readonly deregisterAfterMs: number | undefined;
  /** Consul's rendering of the probe, for `HealthCheck.Definition`. */
  readonly definition: HealthCheckDefinition;
}

/** A validated registration, with defaults applied. */
export interface RegistrationSpec {
  readonly id: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  readonly address: string;
  readonly port: number;
  readonly weights: ServiceWeights;
  readonly checks: readonly CheckSpec[];
}

/** Consul's default per-probe timeout. */
const defaultCheckTimeoutMs = 10_000;
/** Consul rejects service metadata beyond these limits (`structs.ValidateServiceMetadata`). */
const maxMetaPairs = 64;
const maxMetaKeyLength = 128;
const maxMetaValueLength = 512;
const metaKeyPattern = /^[A-Za-z0-9_-]+$/;

const unsupportedCheckKinds = [
  'GRPC',
  'H2Ping',
  'UDP',
  'Args',
  'Script',
  'AliasService',
  'AliasNode',
  'OSService',
  'DockerContainerID',
] as const;

const checkKeys = [
  'CheckID',
  'Name',
  'Notes',
  'Status',
  'HTTP',
  'Method',
  'Header',
  'Body',
  'TCP',
  'TTL',
  'Interval',
  'Timeout',
  'DeregisterCriticalServiceAfter',
  ...unsupportedCheckKinds,
] as const;
const registrationKeys = ['Name', 'ID', 'Tags', 'Meta', 'Address', 'Port', 'Weights', 'Check', 'Checks'] as const;
const weightKeys = ['Passing', 'Warning'] as const;

function goDuration() {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    // A JSON number is a Go time.Duration, i.e. nanoseconds.
    const ms =
      typeof value === 'number'
        ? Number.isFinite(value) && value >= 0
          ? value / 1e6
          : undefined
        : parseGoDuration(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration such as "10s", "1m30s" or "500ms", got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

const checkSchema = z
  .object({
    CheckID: z.string().min(1, { error: 'must not be empty' }).optional(),
    Name: z.string().optional(),
    Notes: z.string().optional(),
    Status: z
      .enum([HealthStatus.Passing, HealthStatus.Warning, HealthStatus.Critical], {
        error: (issue) => `expected "passing", "warning" or "critical", got ${JSON.stringify(issue.input)}`,
      })
      .optional(),
    HTTP: z.string().optional(),
    Method: z
      .string()
      .regex(/^[A-Za-z]+$/, {
        error: (issue) => `expected an HTTP method such as "GET", got ${JSON.stringify(issue.input)}`,
      })
      .optional(),
    Header: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
    Body: z.string().optional(),
    TCP: z.string().optional(),
    TTL: goDuration().optional(),
    Interval: goDuration().optional(),
    Timeout: goDuration().optional(),
    DeregisterCriticalServiceAfter: goDuration().optional(),
    ...Object.fromEntries(unsupportedCheckKinds.map((kind) => [kind, z.unknown().optional()])),
  })
  .superRefine((check, ctx) => {
    for (const kind of unsupportedCheckKinds) {
      const value = (check as Record<string, unknown>)[kind];
      if (value !== undefined && value !== '' && !(Array.isArray(value) && value.length === 0)) {
        ctx.addIssue({
          code: 'custom',
          path: [kind],
          message: `${kind} checks are not supported by the Switchyard registry; use HTTP, TCP or TTL`,
        });
      }
    }
    const kinds = [check.HTTP ? 'HTTP' : '', check.TCP ? 'TCP' : '', check.TTL !== undefined ? 'TTL' : ''].filter(
      (k) => k !== '',
    );
    if (kinds.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must set one of HTTP or TCP (each with Interval), or TTL' });
      return;
    }
    if (kinds.length > 1) {
      ctx.addIssue({ code: 'custom', message: `must set only one of HTTP, TCP or TTL, got ${kinds.join(' and ')}` });
      return;
    }
    if (check.HTTP) {
      let url: URL | undefined;
      try {
        url = new URL(check.HTTP);
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        ctx.addIssue({
          code: 'custom',
          path: ['HTTP'],
          message: `expected an http:// or https:// URL, got ${JSON.stringify(check.HTTP)}`,
        });
      }
    }
    if (check.TCP && splitHostPort(check.TCP) === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['TCP'],
        message: `expected "host:port" with a port from 1 to 65535, got ${JSON.stringify(check.TCP)}`,
      });
    }
    if ((check.HTTP || check.TCP) && !(check.Interval !== undefined && check.Interval > 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['Interval'],
        message: 'must be greater than 0 for HTTP and TCP checks, e.g. "10s"',
      });
    }
    if (check.TTL !== undefined && check.TTL <= 0) {
      ctx.addIssue({ code: 'custom', path: ['TTL'], message: 'must be greater than 0, e.g. "30s"' });
    }
    if (check.Timeout !== undefined && check.Timeout <= 0) {
      ctx.addIssue({ code: 'custom', path: ['Timeout'], message: 'must be greater than 0, e.g. "1s"' });
    }
  });

const registrationSchema = z.object({
  Name: z.string().min(1, { error: 'Missing service name' }),
  ID: z.string().min(1, { error: 'must not be empty (omit it to use Name)' }).optional(),
  Tags: z.array(z.string()).optional(),
  Meta: z
    .record(
      z
        .string()
        .max(maxMetaKeyLength, { error: `keys must be at most ${maxMetaKeyLength} characters` })
        .regex(metaKeyPattern, {
          error: (issue) => `key ${JSON.stringify(issue.input)} must contain only alphanumerics, "-" and "_"`,
        }),
      z.string().max(maxMetaValueLength, { error: `values must be at most ${maxMetaValueLength} characters` }),
    )
    .refine((meta) => Object.keys(meta).length <= maxMetaPairs, { error: `at most ${maxMetaPairs} pairs` })
    .optional(),
  Address: z.string().optional(),
  Port: z
    .number()
    .int({ error: (issue) => `expected an integer from 0 to 65535, got ${JSON.stringify(issue.input)}` })
    .min(0, { error: (issue) => `expected an integer from 0 to 65535, got ${JSON.stringify(issue.input)}` })
    .max(65_535, { error: (issue) => `expected an integer from 0 to 65535, got ${JSON.stringify(issue.input)}` })
    .optional(),
  Weights: z
    .object({
      Passing: z.number().int().min(1, { error: 'must be at least 1' }).optional(),
      Warning: z.number().int().min(0, { error: 'must be at least 0' }).optional(),
    })
    .optional(),
  Check: checkSchema.optional(),
  Checks: z.array(checkSchema).optional(),
});

type ParsedCheck = z.output<typeof checkSchema>;

/**
 * Validates a registration and applies Consul's defaults: `ID` = `Name`, check IDs
 * `service:<ID>` (`service:<ID>:<n>` when there are several), check names `Service '<Name>' check`,
 * weights 1/1, probe timeout 10 s.
 *
 * @throws SwitchyardError `SY_DISCOVERY_INVALID_REGISTRATION` naming each bad field
 * @example
 * ```ts
 * const spec = parseRegistration({ Name: 'orders', Port: 8080, Check: { TTL: '30s' } });
 * spec.checks[0]?.checkId; // 'service:orders'
 * ```
 */
export function parseRegistration(input: unknown): RegistrationSpec {
  if (!isPlainObject(input)) {
    throw invalidRegistration([{ path: '(root)', message: 'expected a JSON object' }]);
  }
  const result = registrationSchema.safeParse(canonicalRegistration(input), { reportInput: true });
  if (!result.success) throw invalidRegistration(result.error.issues.map(describeIssue));
  const parsed = result.data;
  const id = parsed.ID ?? parsed.Name;
  const definitions: ParsedCheck[] = [];
  if (parsed.Check !== undefined) definitions.push(parsed.Check);
  if (parsed.Checks !== undefined) definitions.push(...parsed.Checks);
  const checks = definitions.map((check, i) => toCheckSpec(check, id, parsed.Name, i + 1, definitions.length));
  const seen = new Set<string>();
  for (const check of checks) {
    if (seen.has(check.checkId)) {
      throw invalidRegistration([{ path: 'Checks', message: `duplicate CheckID ${JSON.stringify(check.checkId)}` }]);
    }
    seen.add(check.checkId);
  }
  return {
    id,
    name: parsed.Name,
    tags: parsed.Tags ?? [],
    meta: parsed.Meta ?? {},
    address: parsed.Address ?? '',
    port: parsed.Port ?? 0,
    weights: { Passing: parsed.Weights?.Passing ?? 1, Warning: parsed.Weights?.Warning ?? 1 },
    checks,
  };
}

function toCheckSpec(check: ParsedCheck, serviceId: string, serviceName: string, n: number, total: number): CheckSpec {
  const checkId = check.CheckID ?? (total > 1 ? `service:${serviceId}:${n}` : `service:${serviceId}`);
  const timeoutMs = roundMs(check.Timeout ?? defaultCheckTimeoutMs);
  const intervalMs = check.Interval === undefined ? undefined : roundMs(check.Interval);
  const ttlMs = check.TTL === undefined ? undefined : roundMs(check.TTL);
  const deregisterAfterMs =
    check.DeregisterCriticalServiceAfter === undefined ? undefined : Math.round(check.DeregisterCriticalServiceAfter);
  const headers: Record<string, readonly string[]> = {};
  for (const [name, value] of Object.entries(check.Header ?? {}))
    headers[name] = typeof value === 'string' ? [value] : value;
  const method = (check.Method ?? 'GET').toUpperCase();

  let type: CheckType;
  let probe: CheckProbe | undefined;
  const definition: Record<string, unknown> = {};
  if (check.HTTP) {
    type = CheckType.Http;
    probe = {
      type,
      target: check.HTTP,
      method,
      headers,
      timeoutMs,
      ...(check.Body === undefined ? {} : { body: check.Body }),
    };
    Object.assign(definition, { HTTP: check.HTTP, Method: method, Header: headers });
    if (check.Body !== undefined) definition.Body = check.Body;
  } else if (check.TCP) {
    type = CheckType.Tcp;
    probe = { type, target: check.TCP, method, headers, timeoutMs };
    definition.TCP = check.TCP;
  } else {
    type = CheckType.Ttl;
    definition.TTL = formatDuration(ttlMs as number);
  }
  if (intervalMs !== undefined) definition.Interval = formatDuration(intervalMs);
  if (probe !== undefined) definition.Timeout = formatDuration(timeoutMs);
  if (deregisterAfterMs !== undefined) definition.DeregisterCriticalServiceAfter = formatDuration(deregisterAfterMs);

  return {
    checkId,
    name: check.Name || `Service '${serviceName}' check`,
    notes: check.Notes ?? '',
    status: check.Status,
    type,
    probe,
    intervalMs,
    ttlMs,
    deregisterAfterMs,
    definition: definition as HealthCheckDefinition,
  };
}

/** A validated standalone check (`PUT /v1/agent/check/register`). */
export interface CheckRegistrationSpec {
  /** The service the check belongs to; `undefined` for a node-level check. */
  readonly serviceId: string | undefined;
  readonly check: CheckSpec;
}

/**
 * Validates a standalone check registration as Consul's agent takes it: `Name` is required, `ID`
 * (or `CheckID`) defaults to the name, `ServiceID` ties the check to an instance, and the probe
 * fields are those of a service's `Check`. `serviceName` labels the default check name only.
 *
 * @throws SwitchyardError `SY_DISCOVERY_INVALID_REGISTRATION` naming each bad field
 * @example
 * ```ts
 * const { check } = parseCheckRegistration({ Name: 'disk', TTL: '30s' });
 * check.checkId; // 'disk'
 * ```
 */
export function parseCheckRegistration(input: unknown): CheckRegistrationSpec {
  if (!isPlainObject(input)) {
    throw invalidCheck([{ path: '(root)', message: 'expected a JSON object' }]);
  }
  const canonical = canonicalKeys(input, [...checkKeys, 'ID', 'ServiceID']) as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const name = canonical.Name;
  if (typeof name !== 'string' || name === '') issues.push({ path: 'Name', message: 'Missing check name' });
  const id = canonical.ID ?? canonical.CheckID;
  if (id !== undefined && (typeof id !== 'string' || id === '')) {
    issues.push({ path: 'ID', message: `expected a non-empty string, got ${describeValue(id)}` });
  }
  const serviceId = canonical.ServiceID;
  if (serviceId !== undefined && typeof serviceId !== 'string') {
    issues.push({ path: 'ServiceID', message: `expected string, got ${describeValue(serviceId)}` });
  }
  const { ID: _id, ServiceID: _serviceId, ...rest } = canonical;
  const result = checkSchema.safeParse(rest, { reportInput: true });
  if (!result.success) issues.push(...result.error.issues.map(describeIssue));
  if (issues.length > 0 || !result.success) throw invalidCheck(issues);
  const checkId = (id as string | undefined) ?? (name as string);
  const check = toCheckSpec({ ...result.data, CheckID: checkId }, '', '', 1, 1);
  return { serviceId: serviceId === '' ? undefined : (serviceId as string | undefined), check };
}

/**
 * The Consul-form definition that {@link parseRegistration} or {@link parseCheckRegistration} turns
 * back into `check`, so stored checks are re-validated by the same rules when they are loaded.
 */
export function checkToDefinition(check: CheckSpec): Record<string, unknown> {
  return {
    CheckID: check.checkId,
    Name: check.name,
    Notes: check.notes,
    ...(check.status === undefined ? {} : { Status: check.status }),
    ...check.definition,
  };
}

/** Sub-millisecond Go durations round up to 1 ms so a timer is never armed for 0. */
function roundMs(ms: number): number {
  return Math.max(1, Math.round(ms));
}

/**
 * Splits `host:port` (`[::1]:80` for IPv6). Returns `undefined` unless the port is 1..65535 and the
 * host is non-empty.
 */
export function splitHostPort(target: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(target.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: (match[1] ?? match[2]) as string, port };
}

function invalidCheck(issues: readonly ConfigIssue[]): Error {
  const text = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  return discoveryError('SY_DISCOVERY_INVALID_REGISTRATION', `Invalid check registration: ${text}`, {
    details: { issues: issues.map((issue) => ({ path: issue.path, message: issue.message })) },
  });
}

function invalidRegistration(issues: readonly ConfigIssue[]): Error {
  const text = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  return discoveryError('SY_DISCOVERY_INVALID_REGISTRATION', `Invalid service registration: ${text}`, {
    details: { issues: issues.map((issue) => ({ path: issue.path, message: issue.message })) },
  });
}

function describeIssue(issue: z.core.$ZodIssue): ConfigIssue {
  const path = formatPath(issue.path);
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'invalid_key' && issue.issues[0] !== undefined) {
    return { path, message: issue.issues[0].message };
  }
  if (issue.code === 'invalid_type') {
    if (input === undefined) return { path, message: path === 'Name' ? 'Missing service name' : 'required' };
    if (issue.message.startsWith('Invalid input')) {
      return { path, message: `expected ${issue.expected}, got ${describeValue(input)}` };
    }
  }
  return { path, message: issue.message };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fold(key: string): string {
  return key.replaceAll('_', '').toLowerCase();
}

/** Maps keys onto `known` spellings case-insensitively, ignoring `_`, and drops `null` values. */
function canonicalKeys(value: unknown, known: readonly string[]): unknown {
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === null) continue;
    const name = known.includes(key) ? key : (known.find((k) => fold(k) === fold(key)) ?? key);
    // An exact spelling wins over a folded one, as in Go's decoder.
    if (name === key || !(name in out)) out[name] = child;
  }
  return out;
}

function canonicalCheck(value: unknown): unknown {
  return canonicalKeys(value, checkKeys);
}

function canonicalRegistration(input: Record<string, unknown>): Record<string, unknown> {
  const out = canonicalKeys(input, registrationKeys) as Record<string, unknown>;
  if (out.Weights !== undefined) out.Weights = canonicalKeys(out.Weights, weightKeys);
  if (out.Check !== undefined) out.Check = canonicalCheck(out.Check);
  if (Array.isArray(out.Checks)) out.Checks = out.Checks.map(canonicalCheck);
  return out;
}
