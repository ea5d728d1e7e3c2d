import { closest } from '@switchyard/core';
import protobuf from 'protobufjs';
import { loadEnvoyMessageType } from './envoy-protos.ts';
import { meshError } from './errors.ts';
import {
  checkMapRules,
  checkRepeatedRules,
  checkValueRules,
  type RuleTree,
  rulesOf,
  sub,
} from './internal/pgv-rules.ts';
import {
  checkJsonTimestamp,
  checkScalar,
  describe,
  isScalarType,
  parseJsonDuration,
} from './internal/proto-json-scalars.ts';

/** One problem in an Envoy config: the field path (`static_resources.clusters[0].lb_policy`) and what is wrong. */
export interface EnvoyConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** The Envoy bootstrap message, the default type {@link validateEnvoyConfig} checks against. */
export const envoyBootstrapType = 'envoy.config.bootstrap.v3.Bootstrap';

const wrappers: Record<string, string> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

/** Types with their own JSON form, which an `Any` carries under `value`. */
const specialJson = new Set([
  ...Object.keys(wrappers),
  '.google.protobuf.Duration',
  '.google.protobuf.Timestamp',
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
  '.google.protobuf.FieldMask',
]);

/**
 * Checks a JSON (or YAML-parsed) Envoy config against Envoy's own v3 message descriptors, the
 * way Envoy reads it: the proto3 JSON mapping (snake_case or camelCase names, Durations as
 * `"0.25s"`, wrappers as plain values, `Struct`/`Value`, `Any` resolved by `@type`, enums by
 * name or number, 64-bit integers as numbers or strings, at most one member per oneof) and the
 * protoc-gen-validate rules the fields carry (`min_len`, `min_items`, `required`, `gt`, ...).
 * Loads the protos on first use (`loadEnvoyProtos`); an `@type` naming an extension not
 * loaded yet loads the file that declares it ({@link loadEnvoyMessageType}).
 *
 * @param typeName - the message `json` is, e.g. `envoy.config.cluster.v3.Cluster`
 * @returns every issue found, by field path; empty when the config is valid
 * @throws SwitchyardError `SY_MESH_ENVOY_INVALID` when `typeName` is not a loaded message type
 * @example
 * ```ts
 * validateEnvoyConfig({ static_resources: { clusters: [{ name: 'orders', lb_polcy: 'ROUND_ROBIN' }] } });
 * // [{ path: 'static_resources.clusters[0].lb_polcy',
 * //    message: 'unknown field of envoy.config.cluster.v3.Cluster (did you mean "lb_policy"?)' }]
 * ```
 */
export function validateEnvoyConfig(json: unknown, typeName: string = envoyBootstrapType): EnvoyConfigIssue[] {
  const type = loadEnvoyMessageType(typeName);
  if (type === undefined) {
    throw meshError('SY_MESH_ENVOY_INVALID', `${typeName} is not a message type in Envoy's shipped protos`, {
      details: { typeName },
    });
  }
  const issues: EnvoyConfigIssue[] = [];
  new Walker(issues).message(type, json, '');
  return issues;
}

/**
 * As {@link validateEnvoyConfig}, but throws when there is any issue.
 *
 * @throws SwitchyardError `SY_MESH_ENVOY_INVALID` whose message lists every issue as
 *   `path: message`; `details.issues` holds them as `{ path, message }`
 * @example
 * ```ts
 * assertValidEnvoyConfig(bootstrap); // throws when a field is wrong
 * ```
 */
export function assertValidEnvoyConfig(json: unknown, typeName: string = envoyBootstrapType): void {
  const issues = validateEnvoyConfig(json, typeName);
  if (issues.length === 0) return;
  throw meshError(
    'SY_MESH_ENVOY_INVALID',
    `invalid Envoy config (${typeName}):\n  ${issues.map((i) => `${i.path}: ${i.message}`).join('\n  ')}`,
    { details: { typeName, issues: issues.map((i) => ({ path: i.path, message: i.message })) } },
  );
}

function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `lb_policy` -> `lbPolicy`, the JSON name protoc derives. */
function jsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const byJsonName = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

function fieldFor(type: protobuf.Type, key: string): protobuf.Field | undefined {
  const direct = type.fields[key];
  if (direct !== undefined) return direct;
  let names = byJsonName.get(type);
  if (names === undefined) {
    names = new Map(type.fieldsArray.map((f) => [jsonName(f.name), f]));
    byJsonName.set(type, names);
  }
  return names.get(key);
}

/** A field is "present" in proto3 JSON when given and not null (null means the default). */
function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

class Walker {
  readonly #issues: EnvoyConfigIssue[];

  constructor(issues: EnvoyConfigIssue[]) {
    this.#issues = issues;
  }

  #issue(path: string, message: string): void {
    this.#issues.push({ path: path === '' ? '(root)' : path, message });
  }

  message(type: protobuf.Type, value: unknown, path: string): void {
    const name = type.fullName;
    if (name === '.google.protobuf.Any') {
      this.#any(value, path);
      return;
    }
    if (specialJson.has(name)) {
      this.#special(name, value, path);
      return;
    }
    if (!isObject(value)) {
      this.#issue(path, `expected an object (${name.slice(1)}), got ${describe(value)}`);
      return;
    }
    const given = new Map<protobuf.Field, unknown>();
    for (const [key, fieldValue] of Object.entries(value)) {
      const field = fieldFor(type, key);
      if (field === undefined) {
        const hint = closest(
          key,
          type.fieldsArray.map((f) => f.name),
        );
        this.#issue(child(path, key), `unknown field of ${name.slice(1)}${hint ? ` (did you mean "${hint}"?)` : ''}`);
        continue;
      }
      if (given.has(field)) {
        this.#issue(
          child(path, key),
          `${field.name} is given twice (as "${field.name}" and "${jsonName(field.name)}")`,
        );
        continue;
      }
      given.set(field, fieldValue);
      if (fieldValue === null && field.resolvedType?.fullName !== '.google.protobuf.Value') continue;
      this.#field(field, fieldValue, child(path, field.name));
    }
    this.#oneofs(type, given, path);
    this.#rules(type, given, path);
  }

  #field(field: protobuf.Field, value: unknown, path: string): void {
    if (field.map) {
      if (!isObject(value)) {
        this.#issue(path, `expected an object (a map), got ${describe(value)}`);
        return;
      }
      const keyType = (field as unknown as protobuf.MapField).keyType;
      for (const [key, item] of Object.entries(value)) {
        const itemPath = `${path}[${JSON.stringify(key)}]`;
        const keyProblem = keyType === 'string' ? undefined : mapKeyProblem(keyType, key);
        if (keyProblem !== undefined) this.#issue(itemPath, keyProblem);
        this.#single(field, item, itemPath);
      }
      return;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) {
        this.#issue(path, `expected a list, got ${describe(value)}`);
        return;
      }
      for (const [i, item] of value.entries()) this.#single(field, item, `${path}[${i}]`);
      return;
    }
    this.#single(field, value, path);
  }

  #single(field: protobuf.Field, value: unknown, path: string): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) {
      this.#enum(resolved, value, path, rulesOf(field));
      return;
    }
    if (resolved instanceof protobuf.Type) {
      this.message(resolved, value, path);
      return;
    }
    if (value === null) {
      this.#issue(path, `expected ${field.type}, got null`);
      return;
    }
    if (!isScalarType(field.type)) {
      this.#issue(path, `unresolved type ${field.type}`);
      return;
    }
    const problem = checkScalar(field.type, value);
    if (problem !== undefined) this.#issue(path, problem);
  }

  #enum(type: protobuf.Enum, value: unknown, path: string, rules: RuleTree | undefined): void {
    const name = type.fullName.slice(1);
    if (name === 'google.protobuf.NullValue' && value === null) return;
    const names = Object.keys(type.values);
    if (typeof value === 'string') {
      if (type.values[value] !== undefined) return;
      const hint = closest(value, names);
      this.#issue(
        path,
        `unknown value ${JSON.stringify(value)} of ${name}${hint ? ` (did you mean "${hint}"?)` : ''}; expected one of ${names.join(', ')}`,
      );
      return;
    }
    if (typeof value === 'number' && Number.isInteger(value)) {
      const enumRules = sub(rules, 'enum') ?? sub(sub(sub(rules, 'repeated'), 'items'), 'enum');
      if (enumRules?.defined_only === true && type.valuesById[value] === undefined) {
        this.#issue(path, `${value} is not a defined value of ${name}; expected one of ${names.join(', ')}`);
      }
      return;
    }
    this.#issue(
      path,
      `expected a value of ${name} (a name such as ${JSON.stringify(names[0])}), got ${describe(value)}`,
    );
  }

  #special(name: string, value: unknown, path: string): void {
    const wrapped = wrappers[name];
    if (wrapped !== undefined) {
      const problem = checkScalar(wrapped, value);
      if (problem !== undefined) this.#issue(path, `${problem} (${name.slice(1)} is written as the plain value)`);
      return;
    }
    let problem: string | undefined;
    switch (name) {
      case '.google.protobuf.Duration': {
        const parsed = parseJsonDuration(value);
        problem = parsed.ok ? undefined : parsed.message;
        break;
      }
      case '.google.protobuf.Timestamp':
        problem = checkJsonTimestamp(value);
        break;
      case '.google.protobuf.Struct':
        problem = isObject(value) ? undefined : `expected an object (google.protobuf.Struct), got ${describe(value)}`;
        break;
      case '.google.protobuf.ListValue':
        problem = Array.isArray(value)
          ? undefined
          : `expected a list (google.protobuf.ListValue), got ${describe(value)}`;
        break;
      case '.google.protobuf.FieldMask':
        problem = typeof value === 'string' ? undefined : `expected a field mask string, got ${describe(value)}`;
        break;
      default:
        problem = value === undefined ? 'expected a JSON value' : undefined; // google.protobuf.Value: any JSON
    }
    if (problem !== undefined) this.#issue(path, problem);
  }

  #any(value: unknown, path: string): void {
    if (!isObject(value)) {
      this.#issue(path, `expected an object with "@type" (google.protobuf.Any), got ${describe(value)}`);
      return;
    }
    const { '@type': typeUrl, ...rest } = value;
    if (typeUrl === undefined) {
      if (Object.keys(rest).length > 0) this.#issue(path, 'an Any with fields needs "@type"');
      return;
    }
    const at = child(path, '@type');
    if (typeof typeUrl !== 'string' || !typeUrl.includes('/')) {
      this.#issue(
        at,
        `expected a type URL such as "type.googleapis.com/envoy.config.cluster.v3.Cluster", got ${describe(typeUrl)}`,
      );
      return;
    }
    const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    const type = loadEnvoyMessageType(typeName);
    if (type === undefined) {
      this.#issue(at, `cannot resolve ${JSON.stringify(typeUrl)}: no message ${typeName} in Envoy's shipped protos`);
      return;
    }
    if (!specialJson.has(type.fullName)) {
      this.message(type, rest, path);
      return;
    }
    const { value: inner, ...others } = rest;
    for (const key of Object.keys(others))
      this.#issue(child(path, key), `unknown field; ${typeName} in an Any is given as "value"`);
    this.#special(type.fullName, inner, child(path, 'value'));
  }

  #oneofs(type: protobuf.Type, given: Map<protobuf.Field, unknown>, path: string): void {
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((f) => present(given.get(f)));
      if (set.length > 1) {
        const [first, ...others] = set;
        for (const other of others) {
          this.#issue(
            child(path, other.name),
            `oneof ${oneof.name} takes only one of ${oneof.oneof.join(', ')}; ${first?.name} is set too`,
          );
        }
      }
      if (set.length === 0 && oneof.options?.['(validate.required)'] === true) {
        this.#issue(path, `one of ${oneof.oneof.join(', ')} is required (oneof ${oneof.name})`);
      }
    }
  }

  /** PGV rules, including on fields left out: PGV checks a scalar's default (an empty name fails `min_len`). */
  #rules(type: protobuf.Type, given: Map<protobuf.Field, unknown>, path: string): void {
    for (const field of type.fieldsArray) {
      const rules = rulesOf(field);
      if (rules === undefined || sub(rules, 'message')?.skip === true) continue;
      const value = given.get(field);
      const isPresent = present(value);
      // A oneof member (or proto3 `optional` field) is only validated when it is set.
      if (!isPresent && field.partOf !== null) continue;
      const fieldPath = child(path, field.name);
      if (field.map) {
        const size = isObject(value) ? Object.keys(value).length : 0;
        for (const m of checkMapRules(sub(rules, 'map') ?? {}, size)) this.#issue(fieldPath, m);
        this.#itemRules(
          sub(sub(rules, 'map'), 'values'),
          isObject(value) ? Object.entries(value) : [],
          fieldPath,
          true,
        );
        continue;
      }
      if (field.repeated) {
        const items = Array.isArray(value) ? value : [];
        for (const m of checkRepeatedRules(sub(rules, 'repeated') ?? {}, items)) this.#issue(fieldPath, m);
        this.#itemRules(sub(sub(rules, 'repeated'), 'items'), [...items.entries()], fieldPath, false);
        continue;
      }
      const scalar = !(field.resolvedType instanceof protobuf.Type);
      for (const m of checkValueRules(rules, value, isPresent, scalar)) this.#issue(fieldPath, m);
    }
  }

  #itemRules(rules: RuleTree | undefined, items: Array<[string | number, unknown]>, path: string, map: boolean): void {
    if (rules === undefined) return;
    for (const [key, item] of items) {
      const itemPath = map ? `${path}[${JSON.stringify(key)}]` : `${path}[${key}]`;
      for (const m of checkValueRules(rules, item, present(item), true)) this.#issue(itemPath, m);
    }
  }
}

function mapKeyProblem(keyType: string, key: string): string | undefined {
  if (keyType === 'bool')
    return key === 'true' || key === 'false'
      ? undefined
      : `expected a map key "true" or "false", got ${JSON.stringify(key)}`;
  const problem = checkScalar(keyType, key);
  return problem === undefined ? undefined : `map key: ${problem}`;
}
