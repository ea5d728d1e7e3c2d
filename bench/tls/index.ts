/**
 * `npm run bench -- tls`: TLS termination. Requests per second and p99 over HTTPS, with
 * keep-alive and with a new connection (a full handshake) per request (`Connection: close`),
 * for Switchyard's gateway and nginx (one worker, `ssl` on the same ECDSA P-256 certificate,
 * same TLS versions and ciphers), both proxying to the same small keep-alive upstream on
 * 127.0.0.1 (a 100-byte body). The gateway is also measured over plain HTTP on the same setup,
 * and over HTTPS with HTTP/2 off (node:https instead of node:http2's HTTP/1.1 fallback).
 *
 * wrk speaks HTTP/1.1 (no ALPN), as most load balancers in front of a gateway do. Each proxy is
 * pinned to core 0; the upstream and wrk share core 1 (wrk gets core 2 when there are three).
 * Runs are interleaved over `--rounds` (default 3) and the median is reported.
 *
 * Options: `--rounds N`, `--duration S` (default 3), `--connections N` (default 50 with
 * keep-alive; a new connection per request uses 16).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeNginxProxyConfig } from '../nginx.ts';
import { reportTargets } from '../target.ts';
import { freePort, parseWrk, type WrkReport, waitForPort } from '../wrk.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
  },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const connections = Number(values.connections);
const closeConnections = 16;

const here = new URL('.', import.meta.url).pathname;
const cores = availableParallelism();
const proxyCore = '0';
const upstreamCore = cores >= 2 ? '1' : '0';
const wrkCore = cores >= 3 ? '2' : upstreamCore;
const work = mkdtempSync(join(tmpdir(), 'sy-bench-tls-'));

const children = new Set<{ child: ChildProcess; signal: NodeJS.Signals }>();
process.on('exit', () => {
  for (const { child, signal } of children) if (child.exitCode === null) child.kill(signal);
  rmSync(work, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

function track(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  const entry = { child, signal };
  children.add(entry);
  child.once('exit', () => children.delete(entry));
}

/** Starts a node script pinned to `core`; resolves with the numbers after `READY`. */
function startNode(file: string, core: string, env: Record<string, string>): Promise<number[]> {
  const child = spawn('taskset', ['-c', core, process.execPath, join(here, file)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${file} did not print READY within 20 s`)), 20_000);
    child.once('exit', (code) => reject(new Error(`${file} exited early (${code})`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY ([\d ]+)\n/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout?.resume();
        resolve((match[1] ?? '').trim().split(' ').map(Number));
      }
    });
  });
}

// The same certificate for both proxies: ECDSA P-256, the usual choice for TLS termination.
const cert = join(work, 'server.crt');
const key = join(work, 'server.key');
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ],
  { stdio: 'ignore' },
);

const ciphers = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

async function startNginx(upstreamPort: number): Promise<number> {
  const dir = mkdtempSync(join(work, 'nginx-'));
  const port = await freePort();
  const conf = writeNginxProxyConfig(dir, {
    upstreamPort,
    server: [
      `listen 127.0.0.1:${port} ssl http2;`,
      `ssl_certificate ${cert};`,
      `ssl_certificate_key ${key};`,
      'ssl_protocols TLSv1.2 TLSv1.3;',
      `ssl_ciphers ${ciphers};`,
      'ssl_prefer_server_ciphers on;',
      'keepalive_requests 1000000;',
      'keepalive_timeout 60s;',
    ],
  });
  const child = spawn(
    'taskset',
    ['-c', proxyCore, '/usr/sbin/nginx', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  track(child, 'SIGTERM');
  await waitForPort(port, 10_000);
  return port;
}

interface Sample {
  readonly rps: number;
  readonly p99Ms: number;
  readonly errors: number;
}

function wrk(url: string, seconds: number, close: boolean): Promise<Sample> {
  const args = [
    '-c',
    wrkCore,
    'wrk',
    '-t1',
    `-c${close ? closeConnections : connections}`,
    `-d${seconds}s`,
    '--latency',
  ];
  if (close) args.push('-H', 'Connection: close');
  const child = spawn('taskset', [...args, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('exit', (code) => {
      let report: WrkReport;
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        report = parseWrk(out);
      } catch (err) {
        reject(new Error(`wrk failed (${(err as Error).message}):\n${out}`));
        return;
      }
      const { socket } = report;
      // With `Connection: close`, wrk counts the server's orderly close as a read error.
      const socketErrors = socket.connect + socket.write + socket.timeout;
      resolve({ rps: report.rps, p99Ms: report.p99Ms, errors: report.non2xx + socketErrors });
    });
  });
}

const [upstreamPort] = await startNode('../gateway/upstream.ts', upstreamCore, {});
const [h2Port, httpsPort, plainPort] = await startNode('gateway.ts', proxyCore, {
  UPSTREAM_PORT: String(upstreamPort),
  TLS_CERT: cert,
  TLS_KEY: key,
});
const nginxPort = await startNginx(Number(upstreamPort));

const runs = [
  { name: 'switchyard https keep-alive', url: `https://127.0.0.1:${h2Port}/small`, close: false },
  { name: 'nginx https keep-alive', url: `https://127.0.0.1:${nginxPort}/small`, close: false },
  { name: 'switchyard https (http2 off) keep-alive', url: `https://127.0.0.1:${httpsPort}/small`, close: false },
  { name: 'switchyard plain http keep-alive', url: `http://127.0.0.1:${plainPort}/small`, close: false },
  { name: 'switchyard https new connection per request', url: `https://127.0.0.1:${h2Port}/small`, close: true },
  { name: 'nginx https new connection per request', url: `https://127.0.0.1:${nginxPort}/small`, close: true },
] as const;

const samples = new Map<string, Sample[]>();
for (let round = 0; round < rounds; round += 1) {
  for (const [i] of runs.entries()) {
    const run = runs[(i + round) % runs.length];
    if (run === undefined) continue;
    await wrk(run.url, 1, run.close);
    const sample = await wrk(run.url, duration, run.close);
    samples.set(run.name, [...(samples.get(run.name) ?? []), sample]);
  }
}

function median(name: string): Sample {
  const list = [...(samples.get(name) ?? [])].sort((x, y) => x.rps - y.rps);
  const mid = list[Math.floor(list.length / 2)];
  if (mid === undefined) throw new Error(`no samples for ${name}`);
  return mid;
}

console.log(
  `TLS termination, 100 B responses, ${duration}s x ${rounds} rounds, ${cores} cores (proxy on core ${proxyCore})`,
);
console.log(`${'contender'.padEnd(48)} ${'req/s'.padStart(9)} ${'p99'.padStart(9)} ${'errors'.padStart(7)}`);
for (const run of runs) {
  const s = median(run.name);
  console.log(
    `${run.name.padEnd(48)} ${s.rps.toFixed(0).padStart(9)} ${`${s.p99Ms.toFixed(2)}ms`.padStart(9)} ${String(s.errors).padStart(7)}`,
  );
}
const ratio = (a: string, b: string) => median(a).rps / median(b).rps;
console.log(
  `switchyard/nginx https keep-alive: ${ratio('switchyard https keep-alive', 'nginx https keep-alive').toFixed(2)}x`,
);
console.log(
  `switchyard/nginx https new connection: ${ratio('switchyard https new connection per request', 'nginx https new connection per request').toFixed(2)}x`,
);
console.log(
  `switchyard https (http2 off) / https (http2 on): ${ratio('switchyard https (http2 off) keep-alive', 'switchyard https keep-alive').toFixed(2)}x`,
);
reportTargets([
  {
    what: 'https keep-alive throughput vs own plain HTTP',
    measured: Number(ratio('switchyard https keep-alive', 'switchyard plain http keep-alive').toFixed(2)),
    goal: 0.85,
    kind: 'min',
    unit: 'x',
  },
]);
process.exit();
