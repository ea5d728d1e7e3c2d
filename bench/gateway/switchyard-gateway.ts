/**
 * Switchyard's gateway as a bench contender: one prefix route `/` (no prefix stripping) to the
 * service `upstream`, whose only instance comes from a static {@link InstanceSource} pointing
 * at `127.0.0.1:<UPSTREAM_PORT>`. Routing, header handling, balancing, the breaker and the
 * timeout are all in the path, as in production. Prints `READY <port>`; exits on SIGTERM
 * after closing the gateway (so `--cpu-prof` gets written).
 *
 * Environment (all optional; without them telemetry is off and no middleware runs):
 * - `OTLP_ENDPOINT`: tracing on (`setupTelemetry`, 100% sampling, the in-memory span store as
 *   by default, OTLP/HTTP export to this URL) and metrics on (`createMetrics()` as the global
 *   metrics, served on the admin port's `/metrics`).
 * - `JWT_SECRET`: the route checks an HS256 bearer token (issuer `bench`, audience `bench`)
 *   and rate-limits per JWT subject in memory, with a limit high enough to admit every request.
 * - `TELEMETRY_PARTS`: with `OTLP_ENDPOINT`, the parts kept on, comma-separated (default
 *   `otlp,memory,metrics`; add `unsampled` for a sampling ratio of 0, `notrace` for no tracing
 *   set-up at all): to price each part.
 * - `OTLP_IMPLEMENTATION=opentelemetry`: export with OpenTelemetry's OTLPTraceExporter instead
 *   of the built-in exporter (the bench's comparison of the two).
 * - `STATS_FILE`: on SIGTERM, the exporter's `{ exported, failed, dropped }` is written there.
 * - `SOAK_FILE`: every 5 s, after a full GC (`--expose-gc`), one JSON line
 *   `{ "t": seconds, "rss": bytes, "heapUsed": bytes }` is appended there.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type { ServiceInstance } from '@switchyard/core';
import { createGateway, type GatewayOptions, type InstanceSource } from '@switchyard/gateway';
import { createMetrics, setGlobalMetrics, setupTelemetry, type Telemetry } from '@switchyard/telemetry';

const upstreamPort = Number(process.env.UPSTREAM_PORT);
const instance: ServiceInstance = Object.freeze({
  id: 'upstream-1',
  service: 'upstream',
  address: '127.0.0.1',
  port: upstreamPort,
  tags: [],
  meta: {},
  status: 'passing' as const,
  weight: 1,
});
const list: readonly ServiceInstance[] = Object.freeze([instance]);
const discovery: InstanceSource = { instances: async () => list };

const otlp = process.env.OTLP_ENDPOINT;
let telemetry: Telemetry | undefined;
// TELEMETRY_PARTS (a measurement aid): which of otlp, memory, metrics stay on (default all);
// `unsampled` records no trace at all (sampling ratio 0), to price the instrumentation alone;
// `notrace` sets up no tracing at all (metrics only, with `metrics`).
const parts = new Set((process.env.TELEMETRY_PARTS ?? 'otlp,memory,metrics').split(','));
if (otlp !== undefined && otlp !== '') {
  if (!parts.has('notrace'))
    telemetry = setupTelemetry({
      serviceName: 'bench-gateway',
      // The exporter's defaults (queue 2048, batches of 512): they keep up here, and the stats
      // file says how many spans were dropped if they ever do not.
      samplingRatio: process.env.TELEMETRY_PARTS?.includes('unsampled') ? 0 : 1,
      exporters: {
        otlp: parts.has('otlp') && {
          endpoint: otlp,
          ...(process.env.OTLP_IMPLEMENTATION === 'opentelemetry' ? { implementation: 'opentelemetry' as const } : {}),
        },
        memory: parts.has('memory') && { capacity: 10_000 },
      },
    });
  // Before createGateway: the gateway resolves its metric handles when it is built.
  if (parts.has('metrics')) setGlobalMetrics(createMetrics());
}

const secret = process.env.JWT_SECRET;
const middleware: GatewayOptions['middleware'] =
  secret === undefined || secret === ''
    ? []
    : [
        { jwt: { secret, algorithms: ['HS256'], issuer: 'bench', audience: 'bench' } },
        { rateLimit: { limit: 1_000_000_000, period: '1s', key: 'jwt-sub' } },
      ];

const gateway = await createGateway({
  options: {
    host: '127.0.0.1',
    port: 0,
    routes: [{ path: '/', service: 'upstream', stripPrefix: false }],
    middleware,
    ...(telemetry === undefined ? {} : { admin: { host: '127.0.0.1', port: 0 } }),
  },
  discovery,
});

const soakFile = process.env.SOAK_FILE;
if (soakFile !== undefined && soakFile !== '') {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('SOAK_FILE needs --expose-gc');
  const started = performance.now();
  writeFileSync(soakFile, '');
  setInterval(() => {
    gc();
    const { rss, heapUsed } = process.memoryUsage();
    const t = Math.round((performance.now() - started) / 1000);
    appendFileSync(soakFile, `${JSON.stringify({ t, rss, heapUsed })}\n`);
  }, 5_000).unref();
}

console.log(`READY ${gateway.port}${gateway.adminUrl === undefined ? '' : ` ADMIN ${gateway.adminUrl}`}`);
process.on('SIGTERM', () => {
  // close() waits for keep-alive clients; the bench has none left when it stops a contender.
  void (async () => {
    await gateway.close();
    const statsFile = process.env.STATS_FILE;
    // `notrace`: no exporter, so nothing was exported, failed or dropped.
    if (telemetry === undefined && statsFile !== undefined && statsFile !== '')
      writeFileSync(statsFile, JSON.stringify({ exported: 0, failed: 0, dropped: 0 }));
    if (telemetry !== undefined) {
      await telemetry.forceFlush();
      if (statsFile !== undefined && statsFile !== '')
        writeFileSync(statsFile, JSON.stringify(telemetry.exportStats()));
      await telemetry.shutdown();
    }
  })().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 4000).unref();
});
