import type { ConfigIssue } from '@switchyard/core';
import { redactSecrets } from './admin/redact.ts';
import type { ResolvedGatewayOptions } from './options.ts';
import type { GatewayLogger } from './ports.ts';
import type { GatewayRuntime } from './runtime.ts';

/**
 * A runtime with the requests that use it. A reload retires the current slot; the retired
 * runtime is closed once its last request has finished, so a request never sees its
 * middleware (a JWKS cache, a rate-limit store) closed under it.
 */
export interface RuntimeSlot {
  readonly runtime: GatewayRuntime;
  /** Requests that started under this runtime and have not finished. */
  inFlight: number;
  /** Replaced by a reload, or the gateway is closing: close once idle. */
  retired: boolean;
  /** The close has started. */
  closing: boolean;
  /** Settles once the runtime's `close()` has run (never rejects). */
  readonly closed: Promise<void>;
  readonly markClosed: () => void;
}

/** A slot for a newly built runtime, with no request yet. */
export function createRuntimeSlot(runtime: GatewayRuntime): RuntimeSlot {
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  return { runtime, inFlight: 0, retired: false, closing: false, closed, markClosed };
}

/**
 * Marks `slot` retired and closes its runtime now if no request uses it (otherwise the last
 * request to finish calls this again). Resolves once the runtime is closed; a failing close is
 * logged, not thrown, since the new config is already serving.
 */
export function retireRuntime(slot: RuntimeSlot, logger: GatewayLogger): Promise<void> {
  slot.retired = true;
  if (slot.inFlight === 0 && !slot.closing) {
    slot.closing = true;
    slot.runtime
      .close()
      .catch((err: unknown) => logger.error({ err }, 'closing the middleware of a replaced config failed'))
      .finally(slot.markClosed);
  }
  return slot.closed;
}

/**
 * The fields that belong to the listeners (the gateway's socket, the admin API's, the server
 * limits) and so cannot change on reload: one issue per changed field, by path.
 */
export function unchangeableOnReload(current: ResolvedGatewayOptions, next: ResolvedGatewayOptions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const fields = ['host', 'port', 'admin', 'server', 'listeners', 'upstreamTls'] as const;
  for (const field of fields) {
    const before = JSON.stringify(current[field] ?? null);
    const after = JSON.stringify(next[field] ?? null);
    if (before !== after) {
      // Shown redacted: `admin.auth` holds tokens, `upstreamTls` may hold keys.
      const shown = (value: unknown) => JSON.stringify(redactSecrets(value ?? null));
      issues.push({
        path: `gateway.${field}`,
        message: `cannot change on reload (${shown(current[field])} → ${shown(next[field])}); restart the gateway to apply it`,
      });
    }
  }
  return issues;
}
