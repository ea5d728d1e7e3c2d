import type { ServerResponse } from 'node:http';

/**
 * Responses whose client sent `Expect: 100-continue` and still waits for `100 Continue`. node:http
 * leaves the answer to the gateway when a `checkContinue` listener is installed; the gateway
 * sends it only once the request has been routed and admitted by every middleware and the body
 * is about to be streamed upstream, so a refusal costs the client no upload.
 */
const pending = new WeakSet<ServerResponse>();

/**
 * Marks `res` as owing a `100 Continue`, which {@link sendContinue} sends later. The gateway's
 * `checkContinue` listener calls it.
 *
 * @example
 * ```ts
 * server.on('checkContinue', (req, res) => {
 *   expectContinue(res);
 *   handler.handle(req, res);
 * });
 * ```
 */
export function expectContinue(res: ServerResponse): void {
  pending.add(res);
}

/**
 * Sends `HTTP/1.1 100 Continue` if `res` owes one and no final response started; at most once.
 * Whatever reads the request body calls it first (the proxy, when it starts streaming upstream).
 *
 * @example
 * ```ts
 * sendContinue(ctx.res);
 * ctx.req.pipe(upload);
 * ```
 */
export function sendContinue(res: ServerResponse): void {
  if (!pending.delete(res) || res.headersSent || res.destroyed) return;
  res.writeContinue();
}
