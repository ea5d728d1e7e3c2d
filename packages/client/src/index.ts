/**
 * `@switchyard/client`: a resilient HTTP client that calls services by name.
 *
 * `client.request('orders', { path: '/orders/42' })` asks discovery for the instances of
 * `orders`, skips critical ones, lets a balancer pick one, and sends the request over undici
 * keep-alive pools through the service's circuit breaker, with a per-attempt timeout.
 * Idempotent requests (and requests with an `Idempotency-Key`) are retried with jittered
 * backoff, on another instance when there is one, within a retry budget. The caller's deadline
 * (`deadlineOf(signal)`) caps every attempt and travels to the instance in the
 * `switchyard-timeout-ms` header; a spent deadline fails at once, before anything is sent.
 *
 * @example
 * ```ts
 * import { createHttpClient } from '@switchyard/client';
 * import { consulSource, createDiscoveryClient } from '@switchyard/discovery';
 * import { createTimeout } from '@switchyard/resilience';
 *
 * const discovery = createDiscoveryClient({ source: consulSource({ url: 'http://127.0.0.1:8500' }) });
 * const client = createHttpClient({ discovery, timeout: '2s' });
 *
 * // The whole call, retries included, within 5 s; each instance learns how much is left.
 * const order = await createTimeout({ timeout: '5s' }).execute(async ({ signal }) => {
 *   const res = await client.request('orders', { path: '/orders/42', signal });
 *   return res.body.json();
 * });
 *
 * await client.close();
 * await discovery.close();
 * ```
 *
 * @packageDocumentation
 */

export { defaultBreakerOptions, httpOutcomeClassifier } from './breaker-defaults.ts';
export { ClientEvents } from './client-telemetry.ts';
export type { ClientErrorCode } from './errors.ts';
export { clientError, clientErrorCodes } from './errors.ts';
export type { HttpBodyFlow, HttpBodySink } from './exchange.ts';
export type {
  DefaultDispatcherOptions,
  HttpClient,
  HttpRequestBody,
  HttpRequestOptions,
  HttpRetryEvent,
  QueryValue,
  UpstreamTlsConnectOptions,
} from './http-client.ts';
export { createDefaultDispatcher, createHttpClient, schemeOf } from './http-client.ts';
export type { HttpResponse } from './http-response.ts';
export { IDEMPOTENCY_KEY_HEADER, isIdempotentMethod, isRetryableRequest } from './idempotency.ts';
export type { ClientMtlsOptions, HttpClientMtlsOption, MtlsConnectOptions } from './mtls.ts';
export { createMtlsDispatcher, MtlsDispatcher, resolveClientMtlsOptions } from './mtls.ts';
export type {
  DurationInput,
  HttpBackoffOptions,
  HttpClientOptions,
  HttpRetryOptions,
  InstanceSource,
  ResolvedHttpClientOptions,
  ResolvedHttpRetryOptions,
} from './options.ts';
export {
  httpClientOptionsSchema,
  httpRetryOptionsSchema,
  resolveHttpClientOptions,
  resolveHttpRetryOptions,
} from './options.ts';
export { parseRetryAfter } from './retry-after.ts';
export { describeError, isConnectError } from './upstream-errors.ts';
