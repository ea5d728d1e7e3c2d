/**
 * A small Consul HTTP client for the calls Switchyard itself makes (register, deregister, health
 * watch, TTL heartbeat). It speaks the same wire protocol to a real Consul agent and to the embedded
 * registry server, and turns every failure into a `SwitchyardError` with the original as `cause`.
 */
import { cancelledError, HealthStatus, isSwitchyardError } from '@switchyard/core';
import { Agent, request } from 'undici';
import * as z from 'zod';
import { discoveryError } from './errors.ts';
import { describeError } from './internal/describe-error.ts';
import { type ConsulClientOptions, resolveConsulClientOptions } from './options.ts';
import type { HealthServiceEntry, ServiceRegistration } from './types.ts';

/** Query of {@link ConsulClient.healthService}. */
export interface HealthServiceQuery {
  /** Only instances whose checks all pass. @default false */
  readonly passing?: boolean;
  /** Only instances carrying every one of these tags. */
  readonly tags?: readonly string[];
  /** Blocking query: wait until the service's index passes this value. @default 0 (answer at once) */
  readonly index?: number;
  /** Longest wait of a blocking query, in milliseconds. @default 300000 (Consul's 5m) */
  readonly wait?: number;
  readonly signal?: AbortSignal;
}

/** Answer of {@link ConsulClient.healthService}. */
export interface HealthServiceResult {
  readonly entries: readonly HealthServiceEntry[];
  /** `X-Consul-Index`, to pass as the next query's `index`; 0 when the server sent none. */
  readonly index: number;
}

/** A client for a Consul agent or the embedded registry server. */
export interface ConsulClient extends AsyncDisposable {
  /** The base URL. */
  readonly url: string;
  /**
   * `PUT /v1/agent/service/register`.
   *
   * @throws SwitchyardError `SY_DISCOVERY_REGISTRY_REJECTED` (400 with Consul's reason for a bad
   *   registration), `SY_DISCOVERY_REGISTRY_UNREACHABLE`, `SY_DISCOVERY_REGISTRY_TIMEOUT`, `SY_CANCELLED`
   */
  register(registration: ServiceRegistration, signal?: AbortSignal): Promise<void>;
  /**
   * `PUT /v1/agent/service/deregister/:id`.
   *
   * @returns `false` when the registry did not know the ID (404)
   * @throws SwitchyardError as {@link ConsulClient.register}
   */
  deregister(serviceId: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * `GET /v1/health/service/:name`, optionally as a blocking query.
   *
   * @throws SwitchyardError as {@link ConsulClient.register}, and `SY_DISCOVERY_INVALID_RESPONSE`
   */
  healthService(name: string, query?: HealthServiceQuery): Promise<HealthServiceResult>;
  /**
   * `PUT /v1/agent/check/pass/:id?note=`: reports a TTL check passing.
   *
   * @throws SwitchyardError as {@link ConsulClient.register}; 404 for an unknown check
   */
  passTtl(checkId: string, note?: string, signal?: AbortSignal): Promise<void>;
  /** Closes pooled connections, aborting calls in flight; idempotent. */
  close(): Promise<void>;
}

const defaultWaitMs = 5 * 60_000;
/** Error bodies are kept for diagnosis, within reason. */
const maxErrorBodyBytes = 4096;

const statusSchema = z
  .string()
  .transform(
    (status): HealthStatus =>
      status === HealthStatus.Passing || status === HealthStatus.Warning ? status : HealthStatus.Critical,
  );
const stringMap = z
  .record(z.string(), z.string())
  .nullish()
  .transform((value) => value ?? {});
const stringList = z
  .array(z.string())
  .nullish()
  .transform((value) => value ?? []);

/** Real Consul omits or nulls some fields; missing ones get Consul's zero values. */
const healthEntriesSchema = z.array(
  z.looseObject({
    Node: z.looseObject({
      ID: z.string().default(''),
      Node: z.string(),
      Address: z.string().default(''),
      Datacenter: z.string().default(''),
      TaggedAddresses: stringMap,
      Meta: stringMap,
      CreateIndex: z.number().default(0),
      ModifyIndex: z.number().default(0),
    }),
    Service: z.looseObject({
      ID: z.string(),
      Service: z.string(),
      Tags: stringList,
      Meta: stringMap,
      Address: z.string().default(''),
      Port: z.number().default(0),
      Weights: z
        .looseObject({ Passing: z.number().default(1), Warning: z.number().default(1) })
        .nullish()
        .transform((value) => value ?? { Passing: 1, Warning: 1 }),
      CreateIndex: z.number().default(0),
      ModifyIndex: z.number().default(0),
    }),
    Checks: z
      .array(
        z.looseObject({
          Node: z.string().default(''),
          CheckID: z.string(),
          Name: z.string().default(''),
          Status: statusSchema,
          Notes: z.string().default(''),
          Output: z.string().default(''),
          ServiceID: z.string().default(''),
          ServiceName: z.string().default(''),
          ServiceTags: stringList,
          Type: z.string().default(''),
          Interval: z.string().default(''),
          Timeout: z.string().default(''),
          Definition: z
            .looseObject({})
            .nullish()
            .transform((value) => value ?? {}),
          CreateIndex: z.number().default(0),
          ModifyIndex: z.number().default(0),
        }),
      )
      .nullish()
      .transform((value) => value ?? []),
  }),
);

interface CallOptions {
  readonly method: 'GET' | 'PUT';
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** Statuses answered without throwing. */
  readonly accept?: readonly number[];
}

interface CallResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/**
 * Creates a client for a Consul agent or the embedded registry server.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad `url` or `fetchTimeout`
 * @example
 * ```ts
 * import { createConsulClient } from '@switchyard/discovery';
 *
 * await using consul = createConsulClient({ url: 'http://127.0.0.1:8500' });
 * await consul.register({ Name: 'orders', ID: 'orders-1', Port: 8080,
 *   Check: { HTTP: 'http://127.0.0.1:8080/health', Interval: '10s' } });
 * const { entries, index } = await consul.healthService('orders', { passing: true });
 * ```
 */
export function createConsulClient(options: ConsulClientOptions): ConsulClient {
  const config = resolveConsulClientOptions(options);
  const base = config.url.replace(/\/+$/, '');
  // Blocking queries hold a request open for minutes; our own timer bounds it instead of undici's.
  const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 30_000 });
  let closed = false;

  async function call(call: CallOptions): Promise<CallResult> {
    if (closed) throw discoveryError('SY_DISCOVERY_CLOSED', 'the Consul client is closed');
    if (call.signal?.aborted) throw cancelledError(call.signal, `${call.method} ${call.path}`);
    const query = call.query?.toString() ?? '';
    const target = `${base}${call.path}${query === '' ? '' : `?${query}`}`;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), call.timeoutMs);
    timer.unref();
    const signal = call.signal === undefined ? deadline.signal : AbortSignal.any([call.signal, deadline.signal]);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (config.token !== undefined) headers['x-consul-token'] = config.token;
    if (call.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    const what = `${call.method} ${target}`;
    try {
      const response = await request(target, {
        dispatcher: agent,
        method: call.method,
        headers,
        signal,
        ...(call.body === undefined ? {} : { body: call.body }),
      });
      const text = await response.body.text();
      const ok =
        (response.statusCode >= 200 && response.statusCode <= 299) || call.accept?.includes(response.statusCode);
      if (!ok) {
        const body = text.length > maxErrorBodyBytes ? `${text.slice(0, maxErrorBodyBytes)}...` : text;
        const status = response.statusCode;
        throw discoveryError('SY_DISCOVERY_REGISTRY_REJECTED', `${what} answered ${status}: ${body.trim()}`, {
          details: { status, body, method: call.method, path: call.path },
          retryable: status >= 500 || status === 429,
        });
      }
      return { status: response.statusCode, headers: response.headers, text };
    } catch (err) {
      if (isSwitchyardError(err)) throw err;
      if (call.signal?.aborted) throw cancelledError(call.signal, what);
      if (deadline.signal.aborted) {
        throw discoveryError('SY_DISCOVERY_REGISTRY_TIMEOUT', `${what}: no answer within ${call.timeoutMs} ms`, {
          cause: err,
          details: { timeoutMs: call.timeoutMs },
        });
      }
      if (closed) throw discoveryError('SY_DISCOVERY_CLOSED', 'the Consul client is closed', { cause: err });
      throw discoveryError('SY_DISCOVERY_REGISTRY_UNREACHABLE', `${what}: ${describeError(err)}`, {
        cause: err,
        details: { url: base },
      });
    } finally {
      clearTimeout(timer);
    }
  }

  function parseJson(result: CallResult, what: string): unknown {
    try {
      return JSON.parse(result.text);
    } catch (err) {
      throw discoveryError(
        'SY_DISCOVERY_INVALID_RESPONSE',
        `${what}: the answer is not JSON: ${result.text.slice(0, 200)}`,
        {
          cause: err,
        },
      );
    }
  }

  const client: ConsulClient = {
    url: base,

    async register(registration, signal) {
      await call({
        method: 'PUT',
        path: '/v1/agent/service/register',
        body: JSON.stringify(registration),
        timeoutMs: config.fetchTimeout,
        signal,
      });
    },

    async deregister(serviceId, signal) {
      const result = await call({
        method: 'PUT',
        path: `/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`,
        timeoutMs: config.fetchTimeout,
        signal,
        accept: [404],
      });
      return result.status !== 404;
    },

    async healthService(name, query = {}) {
      const params = new URLSearchParams();
      if (query.passing === true) params.set('passing', 'true');
      for (const tag of query.tags ?? []) params.append('tag', tag);
      const index = query.index ?? 0;
      const waitMs = Math.max(0, Math.round(query.wait ?? defaultWaitMs));
      const blocking = index > 0;
      if (blocking) {
        params.set('index', String(index));
        params.set('wait', `${waitMs}ms`);
      }
      const path = `/v1/health/service/${encodeURIComponent(name)}`;
      const result = await call({
        method: 'GET',
        path,
        query: params,
        // The server may add up to wait/16 of jitter to the wait (Consul does).
        timeoutMs: blocking ? waitMs + Math.ceil(waitMs / 16) + config.fetchTimeout : config.fetchTimeout,
        signal: query.signal,
      });
      const parsed = healthEntriesSchema.safeParse(parseJson(result, `GET ${path}`));
      if (!parsed.success) {
        throw discoveryError(
          'SY_DISCOVERY_INVALID_RESPONSE',
          `GET ${path}: the answer is not a list of health entries: ${z.prettifyError(parsed.error).split('\n')[0]}`,
        );
      }
      const header = result.headers['x-consul-index'];
      const raw = Number(Array.isArray(header) ? header[0] : header);
      return {
        entries: parsed.data as unknown as readonly HealthServiceEntry[],
        index: Number.isSafeInteger(raw) && raw > 0 ? raw : 0,
      };
    },

    async passTtl(checkId, note, signal) {
      const query = new URLSearchParams();
      if (note !== undefined) query.set('note', note);
      await call({
        method: 'PUT',
        path: `/v1/agent/check/pass/${encodeURIComponent(checkId)}`,
        query,
        timeoutMs: config.fetchTimeout,
        signal,
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      await agent.destroy();
    },

    [Symbol.asyncDispose]() {
      return client.close();
    },
  };
  return client;
}
