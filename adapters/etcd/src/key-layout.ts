/**
 * The key layout, the one contract between processes sharing an etcd: every instance is one key
 * `<prefix><service>/<id>` whose value is the instance record as JSON, attached to the lease of
 * the process that registered it. A service is listed and watched by the prefix
 * `<prefix><service>/` (the trailing `/` keeps `orders` from matching `orders-eu`).
 */
import { HealthStatus, type ServiceInstance } from '@switchyard/core';
import type { ServiceRegistration } from '@switchyard/discovery';
import * as z from 'zod';
import { etcdError } from './errors.ts';

/** The JSON value stored under an instance key (Consul's field names, as in a registration). */
export interface InstanceRecord {
  readonly ID: string;
  readonly Name: string;
  readonly Address: string;
  readonly Port: number;
  readonly Tags: readonly string[];
  readonly Meta: Readonly<Record<string, string>>;
  readonly Weights: { readonly Passing: number; readonly Warning: number };
}

/** A name or ID is one key segment: no `/`, not empty. */
const segment = z
  .string()
  .min(1, { message: 'expected a non-empty string' })
  .refine((v) => !v.includes('/'), { message: 'must not contain "/" (it separates key segments)' });
const weight = z.number().int().nonnegative();

const registrationSchema = z.object({
  Name: segment,
  ID: segment.optional(),
  Address: z.string().default(''),
  Port: z.number().int().min(0).max(65_535).default(0),
  Tags: z.array(z.string()).default([]),
  Meta: z.record(z.string(), z.string()).default({}),
  Weights: z.object({ Passing: weight.default(1), Warning: weight.default(1) }).default({ Passing: 1, Warning: 1 }),
});

const recordSchema = z.looseObject({
  ID: z.string(),
  Name: z.string(),
  Address: z.string().default(''),
  Port: z.number().int().min(0).max(65_535),
  Tags: z.array(z.string()).default([]),
  Meta: z.record(z.string(), z.string()).default({}),
  Weights: z.object({ Passing: weight, Warning: weight }).default({ Passing: 1, Warning: 1 }),
});

/** `<prefix><service>/`: the range listed and watched for one service. */
export function servicePrefix(prefix: string, service: string): string {
  return `${prefix}${service}/`;
}

/** `<prefix><service>/<id>`: where one instance lives. */
export function instanceKey(prefix: string, service: string, id: string): string {
  return `${prefix}${service}/${id}`;
}

/**
 * Checks a registration and turns it into the record stored in etcd. `Check` and `Checks` are
 * ignored: etcd has no health checks, an instance lives exactly as long as its lease.
 *
 * @throws SwitchyardError `SY_ETCD_INVALID_REGISTRATION` naming the field
 */
export function toInstanceRecord(registration: ServiceRegistration): InstanceRecord {
  const parsed = registrationSchema.safeParse(registration);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw etcdError(
      'SY_ETCD_INVALID_REGISTRATION',
      `etcd registration ${JSON.stringify(registration.ID ?? registration.Name)}: ${path}: ${issue?.message ?? 'invalid'}`,
      { details: { path } },
    );
  }
  const { Name, ID, Address, Port, Tags, Meta, Weights } = parsed.data;
  return { ID: ID ?? Name, Name, Address, Port, Tags, Meta, Weights };
}

/**
 * Reads one key of a service's range as an instance; the key, not the value, decides the
 * service and ID, and a value naming another one is rejected (it was written by mistake).
 *
 * @throws SwitchyardError `SY_ETCD_INVALID_VALUE` for a value that is not an instance record
 */
export function toServiceInstance(service: string, key: string, value: string, rangePrefix: string): ServiceInstance {
  const id = key.slice(rangePrefix.length);
  const invalid = (why: string, cause?: unknown) =>
    etcdError('SY_ETCD_INVALID_VALUE', `etcd key ${key}: ${why}; the key is skipped`, {
      ...(cause === undefined ? {} : { cause }),
      details: { key, value: value.length > 200 ? `${value.slice(0, 200)}...` : value },
    });
  if (id === '' || id.includes('/')) throw invalid('not of the form <prefix><service>/<id>');
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (err) {
    throw invalid('the value is not JSON', err);
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`the value is not an instance record (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`);
  }
  const record = parsed.data;
  if (record.ID !== id || record.Name !== service) {
    throw invalid(`the value names ${record.Name}/${record.ID}, not ${service}/${id}`);
  }
  return Object.freeze({
    id,
    service,
    address: record.Address || '127.0.0.1',
    port: record.Port,
    tags: Object.freeze([...record.Tags]),
    meta: Object.freeze({ ...record.Meta }),
    status: HealthStatus.Passing,
    weight: record.Weights.Passing,
  });
}
