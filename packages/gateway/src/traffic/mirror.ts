/**
 * Mirroring: a shadow copy of a request sent to an instance of another subset, fire and
 * forget. The copy never touches the client's exchange: its body is buffered from what the
 * proxy streams anyway (up to {@link MIRROR_MAX_BODY_BYTES}), it goes out on its own timeout
 * without retry, breaker or balancer feedback, and its response is read and thrown away. Its
 * status is compared with the one the client got, once both are known.
 */
import { schemeOf } from '@switchyard/client';
import { endpointOrigin, HealthStatus, type ServiceInstance } from '@switchyard/core';
import { type MirrorOutcome, type MirrorRouteMetrics, MirrorOutcome as Outcome } from '@switchyard/telemetry';
import type { Dispatcher } from 'undici';
import type { OutgoingHeaders } from '../headers.ts';
import type { GatewayContext } from '../middleware.ts';
import type { InstanceSource } from '../ports.ts';
import type { ResponseObservation } from './observation.ts';
import { MIRROR_MAX_BODY_BYTES } from './options.ts';

/** Receives the request body as the proxy streams it upstream. */
export interface BodyTap {
  data(chunk: Buffer): void;
  end(): void;
  /** The upload failed or was cut: the copy is not sent. */
  abort(): void;
}

/** What {@link startMirror} needs for one copy. */
export interface MirrorInput {
  readonly ctx: GatewayContext;
  readonly route: string;
  readonly service: string;
  readonly subset: string;
  readonly eligible: (instances: readonly ServiceInstance[]) => readonly ServiceInstance[];
  /** The headers sent to the primary instance (copied at once). */
  readonly headers: OutgoingHeaders;
  /** The path (and query) sent to the primary instance. */
  readonly path: string;
  readonly hasBody: boolean;
  readonly timeoutMs: number;
  readonly discovery: InstanceSource;
  readonly dispatcher: Dispatcher;
  readonly metrics: MirrorRouteMetrics;
  readonly emit: (o: ResponseObservation) => void;
}

/**
 * The header that tells an instance it received a mirrored copy (value `true`), so that it can
 * skip side effects such as sending mail.
 *
 * @example
 * ```ts
 * if (req.headers[MIRROR_HEADER] === 'true') return dryRun(req);
 * ```
 */
export const MIRROR_HEADER = 'x-switchyard-mirror';

/**
 * Starts mirroring one request. Without a body the copy leaves at once; with one, the copy
 * leaves once the returned tap has seen the whole body, and is skipped (counted
 * `outcome="skipped"`) when the body is over {@link MIRROR_MAX_BODY_BYTES} or the upload fails.
 *
 * @example
 * ```ts
 * const tap = startMirror({ ctx, route: 'orders', service: 'orders', subset: 'v2', eligible, headers, path, hasBody, timeoutMs: 5000, discovery, dispatcher, metrics, emit });
 * ```
 */
export function startMirror(input: MirrorInput): BodyTap | undefined {
  const { ctx, metrics } = input;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(input.headers)) {
    if (value === undefined || name === 'content-length' || name === 'transfer-encoding') continue;
    headers[name] = Array.isArray(value) ? [...value] : String(value);
  }
  headers[MIRROR_HEADER] = 'true';
  const method = ctx.method;
  let primary: number | undefined;
  let mirrored: { status: number; durationMs: number; ok: boolean } | undefined;
  const settle = () => {
    if (primary === undefined || mirrored === undefined) return;
    const outcome: MirrorOutcome = !mirrored.ok
      ? Outcome.Error
      : mirrored.status === primary
        ? Outcome.Match
        : Outcome.Mismatch;
    metrics.record(outcome);
    input.emit({
      route: input.route,
      subset: input.subset,
      status: mirrored.status,
      durationMs: mirrored.durationMs,
      mirrored: true,
    });
  };
  const send = (body: Buffer | null) => {
    const res = ctx.res;
    const ended = () => {
      primary = res.writableFinished || res.headersSent ? res.statusCode : 0;
      settle();
    };
    if (res.closed) ended();
    else res.once('close', ended);
    void sendCopy(input, method, headers, body).then((result) => {
      mirrored = result;
      settle();
    });
  };
  if (!input.hasBody) {
    send(null);
    return undefined;
  }
  const declared = Number(ctx.req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MIRROR_MAX_BODY_BYTES) {
    metrics.record(Outcome.Skipped);
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  return {
    data(chunk) {
      if (done) return;
      size += chunk.length;
      if (size > MIRROR_MAX_BODY_BYTES) {
        done = true;
        chunks.length = 0;
        metrics.record(Outcome.Skipped);
        return;
      }
      chunks.push(chunk);
    },
    end() {
      if (done) return;
      done = true;
      send(Buffer.concat(chunks, size));
    },
    abort() {
      if (done) return;
      done = true;
      chunks.length = 0;
      metrics.record(Outcome.Skipped);
    },
  };
}

async function sendCopy(
  input: MirrorInput,
  method: string,
  headers: Record<string, string | string[]>,
  body: Buffer | null,
): Promise<{ status: number; durationMs: number; ok: boolean }> {
  const started = performance.now();
  const signal = AbortSignal.timeout(input.timeoutMs);
  try {
    const listed = await input.discovery.instances(input.service, signal);
    const usable = input.eligible(listed).filter((i) => i.status !== HealthStatus.Critical);
    const instance = usable[Math.floor(Math.random() * usable.length)];
    if (instance === undefined) return { status: 0, durationMs: performance.now() - started, ok: false };
    const response = await input.dispatcher.request({
      origin: endpointOrigin(instance, schemeOf(instance)),
      path: input.path,
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      signal,
      headersTimeout: input.timeoutMs,
      bodyTimeout: input.timeoutMs,
    });
    // The mirror's answer is discarded; reading it frees the connection.
    await response.body.dump({ limit: MIRROR_MAX_BODY_BYTES, signal }).catch(() => {});
    return { status: response.statusCode, durationMs: performance.now() - started, ok: true };
  } catch {
    return { status: 0, durationMs: performance.now() - started, ok: false };
  }
}
