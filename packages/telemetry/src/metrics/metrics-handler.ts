import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SwitchyardMetrics } from './create-metrics.ts';

/** Options of {@link metricsHandler}. */
export interface MetricsHandlerOptions {
  /** Path answered; anything else gets 404. The query string is ignored. @default "/metrics" */
  path?: string;
}

/**
 * A `node:http` request handler serving the text exposition of `metrics`: `GET` (and `HEAD`)
 * on `/metrics` answer 200 with `text/plain; version=0.0.4`, another method 405 with `Allow`,
 * another path 404. A failure while collecting answers 500 and never throws.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * const metrics = createMetrics();
 * createServer(metricsHandler(metrics)).listen(9464);
 * ```
 */
export function metricsHandler(
  metrics: Pick<SwitchyardMetrics, 'text' | 'contentType'>,
  options: MetricsHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const path = options.path ?? '/metrics';
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== path) {
      send(res, 404, 'text/plain; charset=utf-8', `not found: ${path} serves the metrics\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: use GET\n');
      return;
    }
    metrics.text().then(
      (body) => send(res, 200, metrics.contentType, req.method === 'HEAD' ? undefined : body),
      (err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        send(res, 500, 'text/plain; charset=utf-8', `collecting metrics failed: ${reason}\n`);
      },
    );
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string | undefined): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}
