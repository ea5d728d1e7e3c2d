import { readFileSync } from 'node:fs';
import type { DefaultDispatcherOptions } from '@switchyard/client';
import type { ResolvedUpstreamTls } from './options.ts';

/**
 * The dispatcher options for `gateway.upstreamTls`: the CA file read now (validation already
 * checked it), the server name and verification flag passed on. Without `upstreamTls`, https
 * upstreams are verified against the system's trusted CAs.
 *
 * @example
 * ```ts
 * const dispatcher = createDefaultDispatcher(upstreamDispatcherOptions({ ca: 'tls/ca.pem', rejectUnauthorized: true }));
 * ```
 */
export function upstreamDispatcherOptions(tls: ResolvedUpstreamTls | undefined): DefaultDispatcherOptions {
  if (tls === undefined) return {};
  return {
    tls: {
      ...(tls.ca === undefined ? {} : { ca: readFileSync(tls.ca, 'utf8') }),
      ...(tls.servername === undefined ? {} : { servername: tls.servername }),
      rejectUnauthorized: tls.rejectUnauthorized,
    },
  };
}
