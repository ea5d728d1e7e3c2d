import { zDuration } from '@switchyard/core';
import * as z from 'zod';
import { hopByHopHeaders } from '../headers.ts';
import { planCalls } from './plan.ts';
import { parseSize } from './size.ts';

/** Methods an aggregate call may use: calls send no body, so only the safe ones. */
export const aggregateCallMethods = ['GET', 'HEAD'] as const;
/** A method from {@link aggregateCallMethods}. */
export type AggregateCallMethod = (typeof aggregateCallMethods)[number];

/** The default bound on each buffered call body: 1 MiB. */
export const defaultMaxBodySize = 1024 * 1024;

/**
 * Headers the gateway sets on every call itself, or that describe one hop; configuring them
 * (in `forwardHeaders` or a call's `headers`) is an error.
 */
export const managedHeaders: ReadonlySet<string> = new Set([
  ...hopByHopHeaders,
  'host',
  'content-length',
  'expect',
  'x-request-id',
  'via',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'traceparent',
  'tracestate',
  'switchyard-timeout-ms',
]);

const headerToken = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function headerNameProblem(name: string): string | undefined {
  if (!headerToken.test(name)) return 'expected an HTTP header name (a token such as "authorization")';
  if (managedHeaders.has(name.toLowerCase())) {
    return 'is set by the gateway on every call (or is hop-by-hop) and cannot be configured';
  }
  return undefined;
}

const headerNameSchema = z
  .string()
  .superRefine((name, ctx) => {
    const problem = headerNameProblem(name);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((name) => name.toLowerCase());

const sizeSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a size such as "512kb", "1mb" or a positive whole number of bytes, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return bytes;
});

// Names are checked by hand rather than as a record key schema, whose issues zod reports as a bare
// "Invalid key in record".
const callHeadersSchema = z
  .record(z.string(), z.string())
  .superRefine((headers, ctx) => {
    for (const [name, value] of Object.entries(headers)) {
      const problem =
        headerNameProblem(name) ?? (/[\r\n\0]/.test(value) ? 'must not contain CR, LF or NUL' : undefined);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    }
  })
  .transform((headers) =>
    Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])),
  );

const callSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, { message: 'expected a letter or "_", then letters, digits, "_" or "-"' }),
  service: z.string().min(1, 'must be a non-empty service name'),
  path: z.string().min(1, 'must not be empty'),
  method: z
    .enum(aggregateCallMethods, {
      error: (issue) =>
        `expected one of ${aggregateCallMethods.join(', ')} (aggregate calls send no body), got ${JSON.stringify(issue.input)}`,
    })
    .default('GET'),
  timeout: zDuration().optional(),
  required: z.boolean().default(true),
  headers: callHeadersSchema.default({}),
});

/**
 * Schema of a route's `aggregate:` section; see {@link AggregateOptions}. Templates are parsed
 * and the call graph checked here, so a typo or a cycle fails the config, naming the field.
 *
 * @example
 * ```ts
 * aggregateOptionsSchema.parse({ timeout: '2s', calls: [{ name: 'user', service: 'users', path: '/users/{params.id}' }] });
 * // { timeout: 2000, maxBodySize: 1048576, forwardHeaders: ['authorization'], calls: [{ ..., method: 'GET', required: true, headers: {} }] }
 * ```
 */
export const aggregateOptionsSchema = z
  .strictObject({
    timeout: zDuration().optional(),
    maxBodySize: sizeSchema.default(defaultMaxBodySize),
    forwardHeaders: z.array(headerNameSchema).default(['authorization']),
    calls: z.array(callSchema).min(1, 'must list at least one call'),
  })
  .superRefine((options, ctx) => {
    const plan = planCalls(options.calls);
    if (plan.ok) return;
    for (const issue of plan.issues) {
      ctx.addIssue({ code: 'custom', path: ['calls', issue.index, issue.field], message: issue.message });
    }
  });

/** One backend call of an aggregate route, as written. */
export interface AggregateCallOptions {
  /** The key of this call in the response (`data.<name>`, `calls.<name>`) and in templates (`{<name>.field}`). */
  name: string;
  /** The service whose instances receive the call. */
  service: string;
  /**
   * Path and query on the instance, a template: `{params.id}` (route parameter), `{query.q}`
   * (incoming query parameter, empty when absent), `{<call>.<field>}` (a field of an earlier
   * call's JSON body; makes this call wait for that one). Inserted values are percent-encoded.
   */
  path: string;
  /** `"GET"` or `"HEAD"`. @default "GET" */
  method?: AggregateCallMethod | undefined;
  /** Time for the whole call (headers and body), capped by the aggregate deadline. @default the aggregate `timeout` */
  timeout?: string | number | undefined;
  /** Whether the answer fails when this call does. @default true */
  required?: boolean | undefined;
  /** Extra request headers for this call (static values). @default {} */
  headers?: Record<string, string> | undefined;
}

/**
 * A route's `aggregate:` section as written.
 *
 * @example
 * ```ts
 * const aggregate: AggregateOptions = {
 *   timeout: '2s',
 *   calls: [
 *     { name: 'user', service: 'users', path: '/users/{params.id}', timeout: '500ms' },
 *     { name: 'orders', service: 'orders', path: '/orders?customer={user.id}', required: false },
 *   ],
 * };
 * ```
 */
export interface AggregateOptions {
  /** The overall deadline for every call: `"2s"` or milliseconds; `0` disables it. @default the route `timeout` */
  timeout?: string | number | undefined;
  /** The largest body buffered per call: `"512kb"`, `"1mb"` or bytes. @default "1mb" */
  maxBodySize?: string | number | undefined;
  /** Incoming request headers copied to every call (case-insensitive). @default ["authorization"] */
  forwardHeaders?: string[] | undefined;
  /** The backend calls; at least one. */
  calls: AggregateCallOptions[];
}

/** `aggregate:` after validation: durations in milliseconds, `maxBodySize` in bytes, defaults applied. */
export type ResolvedAggregateOptions = z.output<typeof aggregateOptionsSchema>;
/** One call of {@link ResolvedAggregateOptions}. */
export type ResolvedAggregateCall = ResolvedAggregateOptions['calls'][number];
