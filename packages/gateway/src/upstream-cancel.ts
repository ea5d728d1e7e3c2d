import type { GatewayContext } from './middleware.ts';

/**
 * Where the proxy leaves the abort function of the upstream attempt in flight, so that the
 * gateway, which watches the client connection anyway, calls it when the client leaves or
 * shutdown gives up, instead of the HTTP client adding an `abort` listener to `ctx.signal` per
 * request (see `HttpRequestOptions.abortable`: such listeners make Node's young-generation
 * collections copy nearly all recent garbage, the gateway's p99 in bench/gateway).
 */
export interface UpstreamCancel {
  /** The signal the gateway aborts whenever it calls `abort`; the proxy relies on the slot only while `ctx.signal` is this one. */
  signal: AbortSignal | undefined;
  /** Aborts the upstream attempt in flight; set by the proxy. */
  abort: ((reason: unknown) => void) | undefined;
}

/** The key of a context's {@link UpstreamCancel}; not exported from the package. */
export const upstreamCancel: unique symbol = Symbol('switchyard.gateway.upstreamCancel');

/** A context as the gateway builds it. */
export interface RoutedContext extends GatewayContext {
  readonly [upstreamCancel]?: UpstreamCancel;
}

/** The slot of `ctx`, when the gateway built it and no middleware replaced its signal. */
export function upstreamCancelOf(ctx: GatewayContext): UpstreamCancel | undefined {
  const slot = (ctx as RoutedContext)[upstreamCancel];
  return slot !== undefined && slot.signal === ctx.signal ? slot : undefined;
}

/** Aborts `slot`'s upstream attempt, if any. */
export function cancelUpstream(slot: UpstreamCancel, reason: unknown): void {
  const abort = slot.abort;
  slot.abort = undefined;
  abort?.(reason);
}
