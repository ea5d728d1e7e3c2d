import { isIP } from 'node:net';
import { closest, zDuration } from '@switchyard/core';
import * as z from 'zod';
import { apiKeyAuthOptionsSchema, jwtAuthOptionsSchema, remoteAuthOptionsSchema } from '../auth/options.ts';
import { namedKeySchema, rateLimitFields } from '../rate-limit/fields.ts';
import { zByteSize } from './byte-size.ts';

// The schemas here need nothing from the request context (middleware.ts): the gateway's option
// schema includes them, and the context type refers back to the resolved options.

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `"/^https:\/\/[a-z]+\.example\.com$/"` → a RegExp; `undefined` for anything else (used by `cors`). */
export function originPattern(entry: string): RegExp | undefined {
  const match = /^\/(.+)\/([a-z]*)$/.exec(entry);
  if (match?.[1] === undefined) return undefined;
  // Without the stateful g and y flags, test() keeps no lastIndex between requests.
  return new RegExp(match[1], match[2]?.replace(/[gy]/g, ''));
}

function originProblem(entry: string): string | undefined {
  if (entry === '*') return undefined;
  if (entry.startsWith('/')) {
    try {
      return originPattern(entry) === undefined ? 'expected a pattern written as "/regex/" or "/regex/i"' : undefined;
    } catch (err) {
      return `not a valid regular expression: ${(err as Error).message}`;
    }
  }
  let origin: string;
  try {
    origin = new URL(entry).origin;
  } catch {
    origin = 'null';
  }
  return origin === entry
    ? undefined
    : `expected "*", an origin such as "https://shop.example" or "http://localhost:3000" (scheme, host and port only, no path or trailing slash) or a "/regex/"`;
}

const headerList = z.array(z.string().regex(token, 'expected a header name'));

/** The `cors` middleware entry. */
export const corsOptionsSchema = z
  .strictObject({
    /**
     * Origins allowed to read responses: exact origins (`"https://shop.example"`), `"*"` for
     * any, or regular expressions written `"/^https:\/\/[a-z]+\.shop\.example$/"` (anchor them).
     */
    origins: z
      .array(
        z.string().superRefine((entry, ctx) => {
          const problem = originProblem(entry);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
        }),
      )
      .min(1, 'expected at least one origin, "*" for any'),
    /** Methods allowed cross-origin (answered in preflights). @default GET, HEAD, PUT, PATCH, POST, DELETE */
    methods: z
      .array(z.string().regex(/^[A-Z]+$/, 'expected an upper-case method such as "GET"'))
      .min(1)
      .default(['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE']),
    /** Request headers allowed; absent: whatever the preflight asks for is allowed. @default reflect */
    allowHeaders: headerList.optional(),
    /** Response headers scripts may read besides the CORS-safelisted ones. @default [] */
    exposeHeaders: headerList.default([]),
    /** Whether cookies and HTTP auth may be sent (`Access-Control-Allow-Credentials`). @default false */
    credentials: z.boolean().default(false),
    /** How long a browser may cache a preflight (`Access-Control-Max-Age`, whole seconds). @default not sent */
    maxAge: zDuration().optional(),
  })
  .superRefine((o, ctx) => {
    if (!o.credentials) return;
    const star = o.origins.indexOf('*');
    if (star !== -1) {
      ctx.addIssue({
        code: 'custom',
        path: ['origins', star],
        message:
          '"*" cannot be used with credentials: true (browsers refuse it); list the allowed origins, or patterns',
      });
    }
    for (const field of ['allowHeaders', 'exposeHeaders'] as const) {
      const index = o[field]?.indexOf('*') ?? -1;
      if (index !== -1) {
        ctx.addIssue({
          code: 'custom',
          path: [field, index],
          message: 'with credentials: true browsers read "*" as a header literally named "*"; list the headers',
        });
      }
    }
  });

/** What {@link cors} accepts; `maxAge` takes `"10m"` or milliseconds. */
export type CorsOptions = z.input<typeof corsOptionsSchema>;

/** Whether `entry` is an IPv4/IPv6 address or a CIDR range with a prefix length in range. */
function isAddressOrRange(entry: string): boolean {
  const slash = entry.indexOf('/');
  if (slash === -1) return isIP(entry) !== 0;
  const family = isIP(entry.slice(0, slash));
  const bits = entry.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

const addressList = z
  .array(
    z.string().refine(isAddressOrRange, {
      message: 'expected an IPv4/IPv6 address or CIDR range such as "10.0.0.7", "10.0.0.0/8" or "2001:db8::/32"',
    }),
  )
  .min(1, 'expected at least one address or range (leave the field out instead)');

/** The `ipFilter` middleware entry: addresses and CIDR ranges, IPv4 and IPv6. */
export const ipFilterOptionsSchema = z
  .strictObject({
    /** Only these addresses pass (after `deny`). @default every address */
    allow: addressList.optional(),
    /** These addresses are refused, even when `allow` lists them. @default none */
    deny: addressList.optional(),
  })
  .superRefine((o, ctx) => {
    if (o.allow === undefined && o.deny === undefined) {
      ctx.addIssue({ code: 'custom', path: ['allow'], message: 'expected `allow`, `deny` or both' });
    }
  });

/** What {@link ipFilter} accepts. */
export type IpFilterOptions = z.input<typeof ipFilterOptionsSchema>;

/** The `bodyLimit` middleware entry: the most request-body bytes a route accepts. */
export const bodyLimitOptionsSchema = zByteSize();

/** What {@link bodyLimit} accepts: bytes, or a size string such as `"1mb"`. */
export type BodyLimitOptions = z.input<typeof bodyLimitOptionsSchema>;

/** Where Redis keeps the quotas of a `rateLimit` entry with `store: redis`. */
export const redisRateLimitStoreConfigSchema = z.strictObject({
  /** @default 'redis://127.0.0.1:6379' */
  url: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'expected a redis:// or rediss:// URL such as "redis://127.0.0.1:6379"')
    .default('redis://127.0.0.1:6379'),
  /** Prefix of every key written; give each environment sharing a Redis its own. @default 'switchyard:ratelimit:' */
  keyPrefix: z.string().min(1).default('switchyard:ratelimit:'),
  /** How long a decision waits for Redis before the store counts as failed (see `onStoreError`). @default '500ms' */
  commandTimeout: zDuration()
    .refine((ms) => ms > 0, { message: 'expected a duration > 0, such as "500ms"' })
    .default(500),
});

/** `rateLimit.redis` as validated: what a `redis` store factory receives (`commandTimeout` in ms). */
export type RedisRateLimitStoreConfig = z.output<typeof redisRateLimitStoreConfigSchema>;

/**
 * The `rateLimit` middleware entry: `rateLimit()`'s options, with the store named instead of
 * passed (`memory`, or `redis` with its connection under `redis`). `scope` defaults to
 * `gateway` in `gateway.middleware` (one quota per client across every route, as a global plugin
 * in Kong) and to `route` in a route's list.
 */
export const rateLimitEntrySchema = z
  .strictObject({
    ...rateLimitFields,
    /** What requests are counted by: `ip`, `api-key`, `jwt-sub` or `header:<name>`. @default 'ip' */
    key: namedKeySchema.default('ip'),
    /** `route`: a quota per route and client; `gateway`: one per client across the routes the entry runs on. */
    scope: z.enum(['route', 'gateway']).optional(),
    /** Where quotas live: `memory` (this process, one store per entry) or `redis` (shared). @default 'memory' */
    store: z.enum(['memory', 'redis']).default('memory'),
    /** The Redis connection when `store: redis`. @default redis://127.0.0.1:6379 */
    redis: redisRateLimitStoreConfigSchema.optional(),
  })
  .superRefine((o, ctx) => {
    if (o.redis !== undefined && o.store !== 'redis') {
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'only used with store: redis' });
    }
  });

const entrySchemas = {
  jwt: jwtAuthOptionsSchema,
  apiKey: apiKeyAuthOptionsSchema,
  remoteAuth: remoteAuthOptionsSchema,
  rateLimit: rateLimitEntrySchema,
  cors: corsOptionsSchema,
  bodyLimit: bodyLimitOptionsSchema,
  ipFilter: ipFilterOptionsSchema,
} as const;

type EntrySchemas = typeof entrySchemas;

/** The middleware a `middleware:` entry can name. */
export type MiddlewareKind = keyof EntrySchemas;

/** The keys of a `middleware:` entry, in documentation order. */
export const middlewareKinds: readonly MiddlewareKind[] = Object.freeze(Object.keys(entrySchemas) as MiddlewareKind[]);

/** One `middleware:` entry as written: exactly one key naming the middleware, its options as value. */
export type MiddlewareEntryOptions = {
  [K in MiddlewareKind]: { [P in K]: z.input<EntrySchemas[K]> };
}[MiddlewareKind];

/** One `middleware:` entry after validation, defaults applied. */
export type ResolvedMiddlewareEntry = {
  [K in MiddlewareKind]: { readonly [P in K]: z.output<EntrySchemas[K]> };
}[MiddlewareKind];

const known = new Set<string>(middlewareKinds);

/**
 * Schema of one `middleware:` entry: an object with exactly one key, one of
 * {@link middlewareKinds}, whose value is that middleware's options.
 */
export const middlewareEntrySchema = z
  .looseObject({
    jwt: jwtAuthOptionsSchema.optional(),
    apiKey: apiKeyAuthOptionsSchema.optional(),
    remoteAuth: remoteAuthOptionsSchema.optional(),
    rateLimit: rateLimitEntrySchema.optional(),
    cors: corsOptionsSchema.optional(),
    bodyLimit: bodyLimitOptionsSchema.optional(),
    ipFilter: ipFilterOptionsSchema.optional(),
  })
  .superRefine((entry, ctx) => {
    const keys = Object.keys(entry);
    const list = middlewareKinds.join(', ');
    for (const key of keys) {
      if (known.has(key)) continue;
      const hint = closest(key, middlewareKinds);
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `unknown middleware${hint === undefined ? '' : ` (did you mean "${hint}"?)`}; expected one of ${list}`,
      });
    }
    const named = keys.filter((key) => known.has(key));
    if (named.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [named[1] as string],
        message: `one entry names one middleware, this one names ${named.join(' and ')}; give each its own list entry`,
      });
    } else if (keys.length === 0) {
      ctx.addIssue({ code: 'custom', message: `expected one middleware: ${list}` });
    }
  })
  .transform((entry) => entry as ResolvedMiddlewareEntry);

/**
 * Schema of a `middleware:` list, global (`gateway.middleware`) or per route. Entries run in
 * order; the gateway's list runs before the route's.
 *
 * @example
 * ```ts
 * middlewareListSchema.parse([{ cors: { origins: ['https://shop.example'] } }, { bodyLimit: '1mb' }]);
 * ```
 */
export const middlewareListSchema = z.array(middlewareEntrySchema).default([]);

/** The middleware an entry names. */
export function kindOf(entry: ResolvedMiddlewareEntry): MiddlewareKind {
  return middlewareKinds.find((kind) => kind in entry) as MiddlewareKind;
}
