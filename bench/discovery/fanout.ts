/**
 * Two measurements of the embedded registry, called by `bench/discovery/index.ts`:
 *
 * - {@link fanout}: how fast one change reaches many Consul blocking queries. 500 watchers hold
 *   `GET /v1/health/service/<name>?index=N&wait=30s` on one service; a TTL check flips
 *   passing <-> critical; each watcher's latency runs from the flip to its complete response.
 *   Client and server share this process, so the numbers include the client's own work.
 * - {@link registerThroughput}: registrations per second over the HTTP API for 10,000 instances of
 *   1,000 services, each with an HTTP check every 10 s against one tiny server (in a child
 *   process, so it is not counted), then the CPU the registry spends checking over a sample
 *   window, and heap/RSS growth.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRegistry, createRegistryServer } from '@switchyard/discovery';
import { Pool } from 'undici';

/** Result of {@link fanout}. */
export interface FanoutResult {
  /** Median latency from a change to a watcher's complete response, in milliseconds. */
  readonly p50Ms: number;
  /** 99th percentile of the same, in milliseconds. */
  readonly p99Ms: number;
  /** Human-readable summary lines. */
  readonly lines: string[];
}

/**
 * Opens `watchers` blocking queries on one service and measures, per watcher, the time from a
 * status change to its response, over `rounds` changes.
 *
 * @param options.watchers - concurrent blocking queries. @default 500
 * @param options.rounds - changes measured. @default 7
 */
export async function fanout(options: { watchers?: number; rounds?: number } = {}): Promise<FanoutResult> {
  const watchers = options.watchers ?? 500;
  const rounds = options.rounds ?? 7;
  const registry = createRegistry();
  const server = await createRegistryServer({ registry, host: '127.0.0.1', port: 0 });
  const pool = new Pool(server.url, { connections: watchers + 8, pipelining: 1, headersTimeout: 60_000 });
  const service = 'fanout';
  const checkId = 'fanout-ttl';
  registry.register({
    Name: service,
    ID: 'fanout-1',
    Port: 8080,
    Check: { CheckID: checkId, TTL: '10m', Status: 'passing' },
  });
  const latencies: number[] = [];
  const roundP99: number[] = [];
  try {
    // Open every connection first so the rounds measure delivery, not TCP handshakes.
    await Promise.all(
      Array.from({ length: watchers }, async () => {
        const res = await pool.request({ path: `/v1/health/service/${service}`, method: 'GET' });
        await res.body.dump();
      }),
    );
    // Round -1 warms the JIT up on this exact path and is not counted.
    for (let round = -1; round < rounds; round++) {
      const index = registry.serviceIndex(service);
      let changedAt = Number.NaN;
      const pending = Array.from({ length: watchers }, async () => {
        const res = await pool.request({
          path: `/v1/health/service/${service}?index=${index}&wait=30s`,
          method: 'GET',
        });
        const entries = (await res.body.json()) as unknown[];
        const latency = performance.now() - changedAt;
        if (res.statusCode !== 200 || entries.length !== 1 || Number(res.headers['x-consul-index']) <= index) {
          throw new Error(`watcher got an unexpected answer: ${res.statusCode} ${JSON.stringify(entries)}`);
        }
        return latency;
      });
      await waitUntil(() => pool.stats.running >= watchers, 10_000, 'every watcher to be sent');
      // Sent is not yet parked at the server; give the server a moment to reach the wait.
      await new Promise((resolve) => setTimeout(resolve, 100));
      changedAt = performance.now();
      registry.updateTtl(checkId, round % 2 === 0 ? 'passing' : 'critical');
      const measured = await Promise.all(pending);
      if (round < 0) continue;
      latencies.push(...measured);
      roundP99.push(percentile(measured, 0.99));
    }
  } finally {
    await pool.close();
    await server.close();
    await registry.close();
  }
  const p50Ms = percentile(latencies, 0.5);
  const p99Ms = percentile(latencies, 0.99);
  const lines = [
    `registry fanout: ${watchers} blocking queries x ${rounds} changes: p50 ${p50Ms.toFixed(2)} ms, p99 ${p99Ms.toFixed(2)} ms, max ${Math.max(...latencies).toFixed(2)} ms`,
    `registry fanout: p99 per round (ms): ${roundP99.map((v) => v.toFixed(1)).join(', ')}`,
  ];
  return { p50Ms, p99Ms, lines };
}

/** Result of {@link registerThroughput}. */
export interface RegisterThroughputResult {
  /** Registrations per second over `PUT /v1/agent/service/register`. */
  readonly registrationsPerSec: number;
  /** CPU time this process spent per wall second while only checks ran, as % of one core. */
  readonly checkCpuPercent: number;
  /** Heap growth after registering everything (after a GC when `--expose-gc` is on), in MiB. */
  readonly heapMiB: number;
  /** RSS growth, in MiB. */
  readonly rssMiB: number;
  readonly lines: string[];
}

/**
 * Registers `instances` instances across `services` services over the HTTP API, each with an HTTP
 * check every `interval`, then samples the CPU used by checking for `sampleMs`.
 *
 * @param options.instances - @default 10000
 * @param options.services - @default 1000
 * @param options.interval - check interval as a Go duration. @default '10s'
 * @param options.sampleMs - CPU sample window in milliseconds. @default 20000
 * @param options.concurrency - registrations in flight. @default 64
 * @param options.dataFile - persist registrations to this SQLite file (as `switchyard up` does);
 *   in memory when absent. @default undefined
 */
export async function registerThroughput(
  options: {
    instances?: number;
    services?: number;
    interval?: string;
    sampleMs?: number;
    concurrency?: number;
    dataFile?: string;
  } = {},
): Promise<RegisterThroughputResult> {
  const instances = options.instances ?? 10_000;
  const services = options.services ?? 1000;
  const interval = options.interval ?? '10s';
  const sampleMs = options.sampleMs ?? 20_000;
  const concurrency = options.concurrency ?? 64;

  const health = await startHealthServer();
  collectGarbage();
  const baseline = process.memoryUsage();
  const registry = createRegistry(options.dataFile === undefined ? {} : { dataFile: options.dataFile });
  const server = await createRegistryServer({ registry, host: '127.0.0.1', port: 0 });
  const pool = new Pool(server.url, { connections: concurrency });
  try {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < instances; i = next++) {
          const name = `svc-${i % services}`;
          const res = await pool.request({
            path: '/v1/agent/service/register',
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              Name: name,
              ID: `${name}-${i}`,
              Address: '127.0.0.1',
              Port: 10_000 + (i % 50_000),
              Tags: ['bench'],
              Check: { HTTP: `${health.url}/health`, Interval: interval, Timeout: '2s' },
            }),
          });
          await res.body.dump();
          if (res.statusCode !== 200) throw new Error(`register answered ${res.statusCode}`);
        }
      }),
    );
    const registerMs = performance.now() - started;
    const registrationsPerSec = instances / (registerMs / 1000);

    // Let the first probes (one per instance, at registration) settle before sampling.
    const settleDeadline = performance.now() + 30_000;
    while (registry.checks().some((check) => check.Status !== 'passing') && performance.now() < settleDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const passing = registry.checks().filter((check) => check.Status === 'passing').length;
    collectGarbage();
    const memory = process.memoryUsage();
    const cpuBefore = process.cpuUsage();
    const probesBefore = health.count();
    const sampleStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = performance.now() - sampleStart;
    const probes = (await health.count()) - (await probesBefore);
    const checkCpuPercent = ((cpu.user + cpu.system) / 1000 / wallMs) * 100;
    const heapMiB = (memory.heapUsed - baseline.heapUsed) / 2 ** 20;
    const rssMiB = (memory.rss - baseline.rss) / 2 ** 20;
    const lines = [
      `registry register${options.dataFile === undefined ? '' : ' (SQLite)'}: ${instances} instances / ${services} services over HTTP in ${(registerMs / 1000).toFixed(2)} s = ${Math.round(registrationsPerSec)} registrations/s (${concurrency} in flight)`,
      `registry checks: ${passing}/${instances} passing; ${probes} probes in ${(wallMs / 1000).toFixed(1)} s (interval ${interval}); CPU ${checkCpuPercent.toFixed(1)}% of one core (user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms)`,
      `registry memory: heap +${heapMiB.toFixed(1)} MiB, RSS +${rssMiB.toFixed(1)} MiB for ${instances} instances with checks`,
    ];
    return { registrationsPerSec, checkCpuPercent, heapMiB, rssMiB, lines };
  } finally {
    await pool.close();
    await server.close();
    await registry.close();
    await health.close();
  }
}

/** The tiny health endpoint every check probes, in a child process so its CPU is not counted. */
async function startHealthServer(): Promise<{ url: string; count: () => Promise<number>; close: () => Promise<void> }> {
  const code = `
    const http = require('node:http');
    let count = 0;
    const server = http.createServer((req, res) => {
      if (req.url === '/count') { res.end(String(count)); return; }
      count++;
      res.end('ok');
    });
    server.keepAliveTimeout = 1000;
    server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [chunk] = (await Promise.race([
    once(child.stdout, 'data'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('health server did not start')), 10_000)),
  ])) as [Buffer];
  const url = `http://127.0.0.1:${Number(chunk.toString().trim())}`;
  return {
    url,
    count: async () => Number(await (await fetch(`${url}/count`)).text()),
    close: async () => {
      const exited = once(child, 'exit');
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
