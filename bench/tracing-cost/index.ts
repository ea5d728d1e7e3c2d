/**
 * `npm run bench -- tracing-cost`: the CPU time the gateway's tracing adds to one proxied
 * request, taken apart, with no HTTP traffic around it to blur the numbers. Each variant is a
 * process of its own pinned to core 0 running `requests.ts` (two spans per request, as the
 * gateway makes); the OTLP sink of `bench/gateway` runs on the other core, so receiving is not
 * counted. Prints ns of CPU per request for each variant (median of `--rounds`, default 3) and
 * what each part adds. Compare with the gateway's own CPU per request (1 / its untraced req/s
 * on one core, `npm run bench -- gateway --only gateway`) to see what share tracing can take.
 *
 * A diagnostic for the tracing-cost target of `npm run bench -- gateway`; it has no target of
 * its own.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
const here = new URL('.', import.meta.url).pathname;
const otherCore = availableParallelism() >= 2 ? '1' : '0';

function runNode(file: string, core: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', core, process.execPath, file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} exited with ${code}`))));
  });
}

const sink = spawn('taskset', ['-c', otherCore, process.execPath, join(here, '../gateway/otlp-sink.ts')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const sinkPort = await new Promise<number>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the OTLP sink did not start within 10 s')), 10_000);
  sink.stdout.on('data', (chunk: Buffer) => {
    const match = /READY (\d+)/.exec(chunk.toString());
    if (match) {
      clearTimeout(timer);
      resolve(Number(match[1]));
    }
  });
});

const variants = [
  ['off', 'no telemetry set up'],
  ['unsampled', 'set up, sampling ratio 0 (context propagation only)'],
  ['sampled', 'spans recorded, no exporter'],
  ['sampled,memory', '+ in-memory span store'],
  ['sampled,otlp', '+ OTLP/HTTP export (built-in exporter)'],
  ['sampled,otlp,otel', '+ OTLP/HTTP export (OpenTelemetry exporter)'],
  ['sampled,otlp,memory', '+ OTLP and the span store (the embedded default with a collector)'],
] as const;

try {
  const results = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [variant] of variants) {
      const out = await runNode(join(here, 'requests.ts'), '0', {
        VARIANT: variant,
        OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}/v1/traces`,
      });
      const match = /RESULT (\d+)/.exec(out);
      if (!match) throw new Error(`variant ${variant} printed no RESULT`);
      results.set(variant, [...(results.get(variant) ?? []), Number(match[1])]);
    }
    console.log(`  round ${round + 1}/${rounds} done`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const off = median(results.get('off') ?? []);
  console.log(`\ntracing CPU per proxied request (2 spans), median of ${rounds} rounds, node ${process.version}`);
  console.log(`${'variant'.padEnd(22)}${'ns/request'.padStart(12)}${'over off'.padStart(12)}  what`);
  for (const [variant, what] of variants) {
    const ns = median(results.get(variant) ?? []);
    console.log(`${variant.padEnd(22)}${String(ns).padStart(12)}${String(ns - off).padStart(12)}  ${what}`);
  }
} finally {
  sink.kill('SIGTERM');
}
