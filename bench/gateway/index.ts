/**
 * `npm run bench -- gateway`: requests per second, p50 and p99 of wrk (`-t1 -c50`) against the
 * upstream directly, nginx as a keep-alive reverse proxy (one worker), `@fastify/http-proxy`,
 * `http-proxy`, a bare forwarder (node:http + an undici Pool: the Node ceiling) and
 * Switchyard's gateway, for a 100 B and a 64 KiB response. The gateway also runs with tracing
 * (100% sampling, OTLP/HTTP export to a local sink process answering 200) and metrics on, and
 * with JWT auth (HS256, a local secret), local rate limiting (a limit that admits every
 * request) and tracing on; both are compared with the gateway with all of it off.
 *
 * Every proxy is a process of its own pinned to core 0 and started alone (one at a time, so
 * they never compete); the upstream (a keep-alive node:http server) and wrk share the other
 * core (with 2 cores, core 1; with 3 or more, wrk gets core 2). Contenders run interleaved:
 * each round runs every contender once, in a rotating order, so drift in machine load falls
 * on all of them alike; the score is the median of the rounds. Each run is preceded by a short
 * warm-up run (the JIT, the pools' connections).
 *
 * Options: `--rounds N` (default 3), `--duration S` seconds per measured run (default 3),
 * `--warmup S` (default 1), `--connections N` (default 50), `--only a,b` (contenders whose name
 * contains one of the words; targets print only when all they compare ran), and `--profile` to instead run the
 * gateway alone under `--cpu-prof` for `--profile-seconds S` (default 10) per body size and
 * print where it spends its time (`--profile-tracing`: with tracing and metrics on; `--profile-out DIR`
 * keeps the `.cpuprofile` files there).
 *
 * Tracing cost: `--only gateway` also runs the traced gateway with `implementation:
 * 'opentelemetry'` (OpenTelemetry's OTLPTraceExporter instead of the built-in one) and prints
 * both contenders' req/s as a share of the untraced gateway's; without `--only` it is skipped.
 *
 * Memory: after the rounds, `--soak S` (default 60; 0 skips it) runs the gateway with tracing
 * and metrics on under wrk for S seconds; the gateway collects garbage and reads its heap every
 * 5 s. Target "no growth": heapUsed after GC at the end is within max(10%, 5 MB) of the value at
 * 15 s (by then the span store's ring and the pools are full, so what remains is growth).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { writeNginxProxyConfig } from '../nginx.ts';
import { reportTargets, type Target } from '../target.ts';
import { freePort, parseWrk, waitForPort } from '../wrk.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    profile: { type: 'boolean', default: false },
    'profile-seconds': { type: 'string', default: '10' },
    'profile-tracing': { type: 'boolean', default: false },
    'profile-out': { type: 'string' },
    only: { type: 'string' },
    soak: { type: 'string', default: '60' },
  },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const soakSeconds = Number(values.soak);

const here = new URL('.', import.meta.url).pathname;
const cores = availableParallelism();
const proxyCore = '0';
const upstreamCore = cores >= 2 ? '1' : '0';
const wrkCore = cores >= 3 ? '2' : upstreamCore;
const work = mkdtempSync(join(tmpdir(), 'sy-bench-gateway-'));

const sizes = [
  { name: '100 B', path: '/small' },
  { name: '64 KiB', path: '/large' },
] as const;
type SizeName = (typeof sizes)[number]['name'];

// --- child processes: every one is tracked and killed on the way out, whatever happens ---

interface Tracked {
  readonly child: ChildProcess;
  /** nginx's master stops its worker on SIGTERM; SIGKILL would orphan the worker. */
  readonly killSignal: NodeJS.Signals;
}
const children = new Set<Tracked>();

function killAll(): void {
  for (const { child, killSignal } of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(killSignal);
  }
  children.clear();
}
process.on('exit', () => {
  killAll();
  rmSync(work, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // Give the children (nginx above all, which may be creating its temp dirs) up to 2 s to
    // go before the temp dir is removed on exit.
    const exits = [...children].map(
      ({ child }) =>
        new Promise<void>((resolve) => (child.exitCode === null ? child.once('exit', () => resolve()) : resolve())),
    );
    killAll();
    const timer = setTimeout(() => process.exit(130), 2000);
    void Promise.all(exits).then(() => {
      clearTimeout(timer);
      process.exit(130);
    });
  });
}

function track(child: ChildProcess, killSignal: NodeJS.Signals = 'SIGKILL'): Tracked {
  const tracked = { child, killSignal };
  children.add(tracked);
  child.once('exit', () => children.delete(tracked));
  return tracked;
}

/** Stops a child: SIGTERM, then SIGKILL when it has not exited within 5 s. */
async function stop(tracked: Tracked): Promise<void> {
  const { child } = tracked;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Starts a node script pinned to `core` and resolves with the port it prints (`READY <port>`). */
function startNode(
  file: string,
  core: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<{ tracked: Tracked; port: number }> {
  // Children inherit NODE_OPTIONS, so `@switchyard/*` resolve from source as in bench/run.ts.
  const child = spawn('taskset', ['-c', core, process.execPath, ...nodeArgs, join(here, file)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tracked = track(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`${file} did not print READY within 20 s`)), 20_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('exit', (code, signal) => fail(new Error(`${file} exited early (${signal ?? code})`)));
    child.once('error', fail);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.once('exit', () => children.delete(tracked));
        child.stdout?.resume();
        resolve({ tracked, port: Number(match[1]) });
      }
    });
  });
}

/** nginx with one worker, as a keep-alive reverse proxy; everything it writes stays in a temp dir. */
async function startNginx(upstreamPort: number): Promise<{ tracked: Tracked; port: number }> {
  const dir = mkdtempSync(join(work, 'nginx-'));
  const port = await freePort();
  const conf = writeNginxProxyConfig(dir, {
    upstreamPort,
    server: [`listen 127.0.0.1:${port};`, 'keepalive_requests 1000000;'],
    // 64 KiB responses stay in memory instead of spilling to a temp file.
    location: ['proxy_buffer_size 16k;', 'proxy_buffers 8 16k;'],
  });
  const child = spawn('taskset', ['-c', proxyCore, 'nginx', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tracked = track(child, 'SIGTERM');
  const early = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`nginx exited early (${code}); see ${dir}/error.log`))),
  );
  await Promise.race([waitForPort(port, 10_000), early]);
  child.removeAllListeners('exit');
  child.once('exit', () => children.delete(tracked));
  return { tracked, port };
}

// --- wrk ---

interface Sample {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx/3xx responses plus socket errors. */
  readonly errors: number;
}

function wrk(
  port: number,
  path: string,
  seconds: number,
  headers: Readonly<Record<string, string>> = {},
): Promise<Sample> {
  const args = ['-c', wrkCore, 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  const child = spawn('taskset', [...args, `http://127.0.0.1:${port}${path}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tracked = track(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      children.delete(tracked);
      if (code !== 0) reject(new Error(`wrk exited with ${code}:\n${out}`));
      else {
        try {
          const report = parseWrk(out);
          const { socket } = report;
          resolve({
            rps: report.rps,
            p50Ms: report.p50Ms,
            p99Ms: report.p99Ms,
            errors: report.non2xx + socket.connect + socket.read + socket.write + socket.timeout,
          });
        } catch (err) {
          reject(err);
        }
      }
    });
  });
}

// --- contenders ---

interface Contender {
  readonly name: string;
  /** Starts the proxy (pinned to core 0) and resolves with its port; `stop` undoes it. */
  start(upstreamPort: number): Promise<{ port: number; stop: () => Promise<void> }>;
  /** Request headers wrk sends to this contender. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Runs only when `--only` names it (a comparison, not one of the targets' contenders). */
  readonly optIn?: boolean;
}

const node =
  (
    file: string,
    nodeArgs: readonly string[] = [],
    env: () => Record<string, string> = () => ({}),
  ): Contender['start'] =>
  async (upstreamPort) => {
    const { tracked, port } = await startNode(
      file,
      proxyCore,
      { UPSTREAM_PORT: String(upstreamPort), ...env() },
      nodeArgs,
    );
    return { port, stop: () => stop(tracked) };
  };

// --- tracing: the OTLP sink, the JWT, and the exporter's counts per contender ---

/** The OTLP sink's URL, set once it runs (only when a traced contender is selected). */
let sinkUrl = '';
const JWT_SECRET = 'bench-secret-of-at-least-thirty-two-characters';
const token = await new SignJWT({ sub: 'bench-user' })
  .setProtectedHeader({ alg: 'HS256' })
  .setIssuer('bench')
  .setAudience('bench')
  .setExpirationTime('24h')
  .sign(new TextEncoder().encode(JWT_SECRET));

interface ExportStats {
  readonly exported: number;
  readonly failed: number;
  readonly dropped: number;
}
/** Span export counts summed over a contender's runs (read from the file the gateway writes on SIGTERM). */
const exportTotals = new Map<string, { exported: number; failed: number; dropped: number }>();

const traced =
  (name: string, extra: Record<string, string> = {}): Contender['start'] =>
  async (upstreamPort) => {
    const statsFile = join(work, `stats-${randomUUID()}.json`);
    const running = await node('switchyard-gateway.ts', [], () => ({
      OTLP_ENDPOINT: `${sinkUrl}/v1/traces`,
      STATS_FILE: statsFile,
      ...extra,
    }))(upstreamPort);
    return {
      port: running.port,
      stop: async () => {
        await running.stop();
        const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as ExportStats;
        const total = exportTotals.get(name) ?? { exported: 0, failed: 0, dropped: 0 };
        total.exported += stats.exported;
        total.failed += stats.failed;
        total.dropped += stats.dropped;
        exportTotals.set(name, total);
      },
    };
  };

const DIRECT = 'upstream directly';
const NGINX = 'nginx (1 worker)';
const FASTIFY = '@fastify/http-proxy';
const HTTP_PROXY = 'http-proxy';
const BARE = 'bare forwarder';
const GATEWAY = 'Switchyard gateway';
const GATEWAY_TRACED = 'Switchyard gateway + tracing, metrics';
const GATEWAY_JWT_RL_TRACED = 'Switchyard gateway + JWT, rate limit, tracing';
const GATEWAY_TRACED_OTEL = 'Switchyard gateway + tracing via OTel exporter, metrics';

const allContenders: readonly Contender[] = [
  { name: DIRECT, start: async (upstreamPort) => ({ port: upstreamPort, stop: async () => {} }) },
  {
    name: NGINX,
    start: async (upstreamPort) => {
      const { tracked, port } = await startNginx(upstreamPort);
      return { port, stop: () => stop(tracked) };
    },
  },
  { name: FASTIFY, start: node('fastify-proxy.ts') },
  // http-proxy still calls the deprecated util._extend; its warning would only clutter the output.
  { name: HTTP_PROXY, start: node('http-proxy.ts', ['--no-deprecation']) },
  { name: BARE, start: node('bare-forwarder.ts') },
  { name: GATEWAY, start: node('switchyard-gateway.ts') },
  { name: GATEWAY_TRACED, start: traced(GATEWAY_TRACED) },
  {
    name: GATEWAY_JWT_RL_TRACED,
    start: traced(GATEWAY_JWT_RL_TRACED, { JWT_SECRET }),
    headers: { authorization: `Bearer ${token}` },
  },
  // The same as GATEWAY_TRACED with `implementation: 'opentelemetry'` (OTLPTraceExporter):
  // what the built-in exporter saves, measured in the same run (`--only gateway` or `--only otel`).
  {
    name: GATEWAY_TRACED_OTEL,
    start: traced(GATEWAY_TRACED_OTEL, { OTLP_IMPLEMENTATION: 'opentelemetry' }),
    optIn: true,
  },
];

// `--only a,b`: the contenders whose name contains one of the words (targets need their three).
const only = values.only?.split(',').map((w) => w.trim().toLowerCase());
const contenders = allContenders.filter((c) =>
  only === undefined ? c.optIn !== true : only.some((w) => c.name.toLowerCase().includes(w)),
);

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function bench(upstreamPort: number): Promise<void> {
  const samples = new Map<string, Sample[]>();
  const key = (contender: string, size: SizeName) => `${contender}|${size}`;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length] as Contender;
      const running = await contender.start(upstreamPort);
      try {
        for (const size of sizes) {
          await wrk(running.port, size.path, warmup, contender.headers);
          const sample = await wrk(running.port, size.path, duration, contender.headers);
          const list = samples.get(key(contender.name, size.name)) ?? [];
          list.push(sample);
          samples.set(key(contender.name, size.name), list);
        }
      } finally {
        await running.stop();
      }
    }
    console.log(`  round ${round + 1}/${rounds} done`);
  }

  const score = (contender: string, size: SizeName): Sample => {
    const list = samples.get(key(contender, size)) ?? [];
    return {
      rps: median(list.map((s) => s.rps)),
      p50Ms: median(list.map((s) => s.p50Ms)),
      p99Ms: median(list.map((s) => s.p99Ms)),
      errors: list.reduce((sum, s) => sum + s.errors, 0),
    };
  };

  const width = Math.max(...contenders.map((c) => c.name.length));
  const targets: Target[] = [];
  for (const size of sizes) {
    const bare = score(BARE, size.name);
    console.log(`\n${size.name} response (GET ${size.path}), medians of ${rounds} rounds`);
    console.log(
      `${'contender'.padEnd(width)}  ${'req/s'.padStart(9)}  ${'p50'.padStart(9)}  ${'p99'.padStart(9)}  ${'vs bare'.padStart(8)}`,
    );
    for (const c of contenders) {
      const s = score(c.name, size.name);
      const errors = s.errors > 0 ? `  (${s.errors} errors/non-2xx)` : '';
      console.log(
        `${c.name.padEnd(width)}  ${s.rps.toFixed(0).padStart(9)}  ${`${s.p50Ms.toFixed(2)} ms`.padStart(9)}  ${`${s.p99Ms.toFixed(2)} ms`.padStart(9)}  ${`${(s.rps / bare.rps).toFixed(2)}x`.padStart(8)}${errors}`,
      );
    }
    const gateway = score(GATEWAY, size.name);
    const tracedScore = score(GATEWAY_TRACED, size.name);
    const jwtScore = score(GATEWAY_JWT_RL_TRACED, size.name);
    const otelScore = score(GATEWAY_TRACED_OTEL, size.name);
    if (Number.isFinite(gateway.rps) && Number.isFinite(otelScore.rps)) {
      console.log(
        `tracing cost (${size.name}): built-in exporter ${(tracedScore.rps / gateway.rps).toFixed(2)}x, OTel exporter ${(otelScore.rps / gateway.rps).toFixed(2)}x of the untraced gateway's req/s`,
      );
    }
    if (Number.isFinite(gateway.rps) && Number.isFinite(tracedScore.rps)) {
      targets.push({
        what: `gateway with tracing and metrics vs without (${size.name})`,
        measured: tracedScore.rps / gateway.rps,
        goal: 0.85,
        kind: 'min',
        unit: 'x',
      });
    }
    if (Number.isFinite(gateway.rps) && Number.isFinite(jwtScore.rps)) {
      targets.push({
        what: `gateway with JWT auth, rate limiting and tracing vs without (${size.name})`,
        measured: jwtScore.rps / gateway.rps,
        goal: 0.85,
        kind: 'min',
        unit: 'x',
      });
    }
    const fastify = score(FASTIFY, size.name);
    if (![gateway, fastify, bare].every((s) => Number.isFinite(s.rps))) continue;
    targets.push(
      {
        what: `gateway vs bare forwarder (${size.name})`,
        measured: gateway.rps / bare.rps,
        goal: 0.9,
        kind: 'min',
        unit: 'x',
      },
      {
        what: `gateway vs @fastify/http-proxy (${size.name})`,
        measured: gateway.rps / fastify.rps,
        goal: 1.6,
        kind: 'min',
        unit: 'x',
      },
      {
        what: `gateway p99 vs min(bare forwarder, @fastify/http-proxy) p99 (${size.name})`,
        measured: gateway.p99Ms / Math.min(bare.p99Ms, fastify.p99Ms),
        goal: 1,
        kind: 'max',
        unit: 'x',
      },
    );
  }
  console.log('');
  for (const [name, total] of exportTotals) {
    console.log(
      `${name}: spans exported ${total.exported}, dropped ${total.dropped}, failed ${total.failed} (all runs)`,
    );
  }
  if (exportTotals.size > 0) {
    const sink = (await (await fetch(`${sinkUrl}/stats`)).json()) as { requests: number; bytes: number };
    console.log(`OTLP sink: ${sink.requests} export requests, ${(sink.bytes / 1e6).toFixed(1)} MB`);
  }
  if (soakSeconds > 0 && contenders.some((c) => c.name === GATEWAY_TRACED)) {
    targets.push(await soak(upstreamPort));
  }
  console.log('');
  reportTargets(targets);
}

// --- --soak: heap of the traced gateway over a long run ---

interface MemorySample {
  readonly t: number;
  readonly rss: number;
  readonly heapUsed: number;
}

async function soak(upstreamPort: number): Promise<Target> {
  const soakFile = join(work, 'soak.jsonl');
  const statsFile = join(work, 'soak-stats.json');
  console.log(`\nsoak: gateway with tracing and metrics, ${soakSeconds} s of wrk on /small, heap after GC every 5 s`);
  const { tracked, port } = await startNode(
    'switchyard-gateway.ts',
    proxyCore,
    {
      UPSTREAM_PORT: String(upstreamPort),
      OTLP_ENDPOINT: `${sinkUrl}/v1/traces`,
      STATS_FILE: statsFile,
      SOAK_FILE: soakFile,
    },
    ['--expose-gc'],
  );
  let run: Sample;
  try {
    // One more second so that the reading at `soakSeconds` falls inside the load.
    run = await wrk(port, '/small', soakSeconds + 1);
  } finally {
    await stop(tracked);
  }
  const samples = readFileSync(soakFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as MemorySample);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  for (const s of samples)
    console.log(`  t=${String(s.t).padStart(3)} s  heapUsed ${mb(s.heapUsed)} MB  rss ${mb(s.rss)} MB`);
  const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as ExportStats;
  console.log(
    `  ${run.rps.toFixed(0)} req/s, p99 ${run.p99Ms.toFixed(2)} ms; spans exported ${stats.exported}, dropped ${stats.dropped}, failed ${stats.failed}`,
  );
  const base = samples.find((s) => s.t >= 15);
  const last = samples.at(-1);
  if (base === undefined || last === undefined || last.t <= base.t) {
    throw new Error(`the soak took too few readings (${samples.length}); use --soak 30 or more`);
  }
  const allowed = Math.max(0.1 * base.heapUsed, 5e6);
  console.log(
    `  heapUsed at ${base.t} s ${mb(base.heapUsed)} MB, at ${last.t} s ${mb(last.heapUsed)} MB; allowed growth max(10%, 5 MB) = ${mb(allowed)} MB`,
  );
  return {
    what: `traced gateway heap growth after GC, ${base.t} s to ${last.t} s (goal = max(10% of heap at ${base.t} s, 5 MB))`,
    measured: Number(mb(last.heapUsed - base.heapUsed)),
    goal: Number(mb(allowed)),
    kind: 'max',
    unit: 'MB',
  };
}

// --- --profile: where the gateway spends its time ---

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
}

/** Groups a script URL into the package or layer it belongs to. */
function layerOf(url: string): string {
  if (url === '') return '(native / VM)';
  if (url.startsWith('node:')) return 'node core';
  const pkg = /packages\/([^/]+)\/src\//.exec(url);
  if (pkg) return `@switchyard/${pkg[1]}`;
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (mod) return mod[1] as string;
  return url;
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const short = url.replace(/^file:\/\/.*?\/(packages|node_modules)\//, '$1/');
  return `${functionName || '(anonymous)'}${short ? ` ${short}:${lineNumber + 1}` : ''}`;
}

function summarize(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const total = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
  const byFunction = new Map<string, number>();
  const byLayer = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    const name = label(n);
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    const layer = layerOf(n.callFrame.url);
    byLayer.set(layer, (byLayer.get(layer) ?? 0) + hits);
  }
  // Callers of each function (by self hits), to tell who pays for the hot leaves.
  const parentOf = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n);
  const callers = new Map<string, Map<string, number>>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    const parent = parentOf.get(n.id);
    if (hits === 0 || parent === undefined) continue;
    const byCaller = callers.get(label(n)) ?? new Map<string, number>();
    const grandparent = parentOf.get(parent.id);
    const chain = grandparent === undefined ? label(parent) : `${label(parent)} <- ${label(grandparent)}`;
    byCaller.set(chain, (byCaller.get(chain) ?? 0) + hits);
    callers.set(label(n), byCaller);
  }
  const pct = (h: number) => `${((100 * h) / total).toFixed(1).padStart(5)}%`;
  console.log('self time by layer:');
  for (const [layer, hits] of [...byLayer].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`  ${pct(hits)}  ${layer}`);
  }
  console.log('top functions (self time):');
  for (const [name, hits] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${pct(hits)}  ${name}`);
    const top = [...(callers.get(name) ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 2);
    if (hits / total >= 0.02) for (const [caller, h] of top) console.log(`           <- ${pct(h)} ${caller}`);
  }
}

async function profile(upstreamPort: number): Promise<void> {
  const seconds = Number(values['profile-seconds']);
  for (const size of sizes) {
    const dir = mkdtempSync(join(work, 'prof-'));
    // --profile-tracing: tracing (OTLP to the sink) and metrics on, as GATEWAY_TRACED runs.
    const tracing = values['profile-tracing'] ? { OTLP_ENDPOINT: `${sinkUrl}/v1/traces` } : {};
    const { tracked, port } = await startNode(
      'switchyard-gateway.ts',
      proxyCore,
      { UPSTREAM_PORT: String(upstreamPort), ...tracing },
      ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    );
    try {
      await wrk(port, size.path, warmup);
      const s = await wrk(port, size.path, seconds);
      console.log(
        `\ngateway${values['profile-tracing'] ? ' with tracing and metrics' : ''} under --cpu-prof, ${size.name}: ${s.rps.toFixed(0)} req/s, p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms`,
      );
    } finally {
      await stop(tracked);
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('the gateway wrote no .cpuprofile');
    const out = values['profile-out'];
    if (out !== undefined) {
      const kept = join(
        out,
        `gateway${values['profile-tracing'] ? '-traced' : ''}-${size.name.replace(/\s+/g, '')}.cpuprofile`,
      );
      copyFileSync(join(dir, file), kept);
      console.log(`profile kept in ${kept} (open it in Chrome DevTools' Performance panel)`);
    }
    summarize(join(dir, file));
  }
}

// --- main ---

console.log(
  `gateway: wrk -t1 -c${connections}, ${duration} s runs (+${warmup} s warm-up), ${rounds} rounds, node ${process.version}, ${cores} cores; proxies on core ${proxyCore}, upstream on core ${upstreamCore}, wrk on core ${wrkCore}`,
);
if (cores < 2) console.log('warning: 1 core: proxies, upstream and wrk share it; ratios are only indicative');
const upstream = await startNode('upstream.ts', upstreamCore, {});
const tracedNames: readonly string[] = [GATEWAY_TRACED, GATEWAY_JWT_RL_TRACED, GATEWAY_TRACED_OTEL];
if (values.profile ? values['profile-tracing'] : contenders.some((c) => tracedNames.includes(c.name))) {
  const sink = await startNode('otlp-sink.ts', upstreamCore, {});
  sinkUrl = `http://127.0.0.1:${sink.port}`;
}
try {
  if (values.profile) await profile(upstream.port);
  else await bench(upstream.port);
} finally {
  await stop(upstream.tracked);
  killAll();
}
