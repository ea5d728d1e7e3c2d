import { createHash } from 'node:crypto';
import { type Clock, systemClock } from '@switchyard/core';
import { type Dispatcher, request } from 'undici';
import { gatewayError } from '../errors.ts';
import type { GatewayContext, GatewayIdentity, GatewayMiddleware } from '../middleware.ts';
import { quoted, setHeader, stripHeaders, unauthenticated } from './identity.ts';
import { type RemoteAuthOptions, resolveRemoteAuthOptions } from './options.ts';

/** Collaborators of {@link remoteAuth}; tests inject them. */
export interface RemoteAuthDeps {
  /** Time source for cache expiry. @default systemClock */
  readonly clock?: Clock;
  /** The undici dispatcher for calls to the auth service. @default undici's global dispatcher */
  readonly dispatcher?: Dispatcher;
}

/** One answer of the auth service, as cached. */
interface Answer {
  readonly status: number;
  readonly identity: GatewayIdentity;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly challenge: string | undefined;
  readonly expiresAt: number;
}

const maxBodyBytes = 64 * 1024;

/**
 * Authenticates requests by asking an auth service: a `GET` to `url` carrying the request's
 * `forwardHeaders` (default `authorization` and `cookie`). A 2xx answer lets the request through,
 * 401 is `SY_GATEWAY_UNAUTHENTICATED` (the service's `WWW-Authenticate` is passed on), 403 is
 * `SY_GATEWAY_FORBIDDEN`, and any other status, a failure to connect or no answer within
 * `timeout` is `SY_GATEWAY_AUTH_UNAVAILABLE` (503): the gateway fails closed.
 *
 * Answers (allow and deny alike) are cached for their lifetime: `Cache-Control: max-age`, capped
 * by `maxCacheTtl`; answers with `no-store` or `no-cache`, or without `max-age`, are not cached. The cache key is a SHA-256 of the forwarded headers, so the decision is per credential,
 * not per path; at most `cacheSize` answers are kept (least recently used evicted). Concurrent
 * requests with the same credentials share one call.
 *
 * The identity comes from the answer: `subject` from `subjectFrom` (default `json:sub`), claims
 * from its JSON body; `identityHeaders.claims` maps upstream headers to `json:<field>` or
 * `header:<name>` of the answer. Incoming copies of those headers are always removed first.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for invalid options (`gateway.auth.remote.<field>`)
 * @example
 * ```ts
 * const auth = remoteAuth({
 *   url: 'http://auth.internal:4000/validate',
 *   timeout: '1s',
 *   identityHeaders: { subject: 'x-user-id', claims: { 'x-tenant': 'header:x-auth-tenant' } },
 * });
 * ```
 */
export function remoteAuth(input: RemoteAuthOptions, deps: RemoteAuthDeps = {}): GatewayMiddleware {
  const options = resolveRemoteAuthOptions(input);
  const clock = deps.clock ?? systemClock;
  const { subject: subjectHeader, claims: claimHeaders = {} } = options.identityHeaders;
  const claimEntries = Object.entries(claimHeaders);
  const stripped = [...(subjectHeader === undefined ? [] : [subjectHeader]), ...Object.keys(claimHeaders)];
  const cache = new Map<string, Answer>();
  const pending = new Map<string, Promise<Answer>>();
  const defaultChallenge = `Bearer realm=${quoted(options.realm)}`;

  function remember(key: string, answer: Answer): void {
    if (options.cacheSize === 0 || answer.expiresAt <= clock.now()) return;
    cache.delete(key);
    cache.set(key, answer);
    // Map iteration order is insertion order: the first key is the least recently used.
    if (cache.size > options.cacheSize) cache.delete(cache.keys().next().value as string);
  }

  // The call is shared by every request waiting on the same credentials, so it is bounded by
  // `timeout` alone: one client going away must not fail the others.
  async function ask(forwarded: Record<string, string>): Promise<Answer> {
    const signal = AbortSignal.timeout(options.timeoutMs);
    const late = `the auth service at ${options.url} did not answer within ${options.timeoutMs}ms`;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(options.url, {
        method: 'GET',
        headers: forwarded,
        signal,
        ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
      });
    } catch (err) {
      if (signal.aborted) throw unavailable(late, err);
      throw unavailable(`could not reach the auth service at ${options.url}: ${(err as Error).message}`, err);
    }
    const { statusCode, headers } = response;
    let json: Record<string, unknown> | undefined;
    try {
      const text = await readCapped(response.body);
      if (statusCode >= 200 && statusCode < 300 && text.trim().startsWith('{')) {
        const parsed: unknown = JSON.parse(text);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
          json = parsed as Record<string, unknown>;
      }
    } catch (err) {
      if (signal.aborted) throw unavailable(late, err);
      throw unavailable(`the auth service at ${options.url} sent an unreadable answer: ${(err as Error).message}`, err);
    }
    if (!(statusCode >= 200 && statusCode < 300) && statusCode !== 401 && statusCode !== 403) {
      throw unavailable(`the auth service at ${options.url} answered ${statusCode}`);
    }
    const lookup = (source: string): unknown => {
      if (source.startsWith('json:')) return json?.[source.slice(5)];
      const value = headers[source.slice(7)];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const subject = lookup(options.subjectFrom);
    const identity: GatewayIdentity = {
      ...(typeof subject === 'string' ? { subject } : {}),
      ...(json === undefined ? {} : { claims: json }),
    };
    const out: Record<string, string | undefined> = {};
    for (const [name, source] of claimEntries) out[name] = lookup(source) as string | undefined;
    if (subjectHeader !== undefined) out[subjectHeader] = typeof subject === 'string' ? subject : undefined;
    const challenge = headers['www-authenticate'];
    return {
      status: statusCode,
      identity,
      headers: out,
      challenge: typeof challenge === 'string' ? challenge : undefined,
      expiresAt: clock.now() + lifetimeMs(headers['cache-control'], options.maxCacheTtlMs),
    };
  }

  function decide(ctx: GatewayContext, answer: Answer): void {
    if (answer.status === 401) {
      unauthenticated(ctx, answer.challenge ?? defaultChallenge, 'the auth service rejected the credentials');
    }
    if (answer.status === 403) {
      throw gatewayError('SY_GATEWAY_FORBIDDEN', 'the auth service refused this request');
    }
    ctx.identity = answer.identity;
    for (const [name, value] of Object.entries(answer.headers)) setHeader(ctx, name, value);
  }

  return (next) => async (ctx) => {
    const forwarded: Record<string, string> = {};
    let any = false;
    for (const name of options.forwardHeaders) {
      const value = ctx.req.headers[name];
      if (value === undefined) continue;
      forwarded[name] = Array.isArray(value) ? value.join(name === 'cookie' ? '; ' : ', ') : value;
      any = true;
    }
    stripHeaders(ctx, stripped);
    if (!any) {
      if (options.optional) return next(ctx);
      unauthenticated(ctx, defaultChallenge, `credentials are required (${options.forwardHeaders.join(' or ')})`);
    }
    const hash = createHash('sha256');
    for (const name of options.forwardHeaders) hash.update(`${name}\0${forwarded[name] ?? ''}\0`);
    const key = hash.digest('base64url');
    let answer = cache.get(key);
    if (answer !== undefined && answer.expiresAt <= clock.now()) {
      cache.delete(key);
      answer = undefined;
    }
    if (answer !== undefined) {
      remember(key, answer); // refresh its LRU position
    } else {
      let call = pending.get(key);
      if (call === undefined) {
        call = ask(forwarded).finally(() => pending.delete(key));
        pending.set(key, call);
      }
      answer = await call;
      remember(key, answer);
    }
    decide(ctx, answer);
    return next(ctx);
  };
}

function unavailable(message: string, cause?: unknown) {
  return gatewayError('SY_GATEWAY_AUTH_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

/** How long an answer may be reused: `max-age` (RFC 9111 §5.2.2.1) capped, 0 when not cacheable. */
export function lifetimeMs(cacheControl: string | string[] | undefined, capMs: number): number {
  const value = Array.isArray(cacheControl) ? cacheControl.join(',') : cacheControl;
  if (value === undefined) return 0;
  const directives = value
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
  const maxAge = directives.find((d) => d.startsWith('max-age='));
  const seconds = maxAge === undefined ? Number.NaN : Number(maxAge.slice(8));
  if (!Number.isInteger(seconds) || seconds <= 0) return 0;
  return Math.min(seconds * 1000, capMs);
}

async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) {
      body.destroy();
      throw new Error(`the answer is larger than ${maxBodyBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
