/**
 * `npm run bench -- resilience`: calls per second of a no-op async function wrapped in nothing,
 * in Switchyard's breaker, in Switchyard's retry+breaker+timeout composition, in opossum's
 * breaker, and in cockatiel's breaker and retry+breaker wrap; then heap growth over 10^6 calls.
 *
 * Contenders run interleaved: each round runs every contender once for the same number of
 * calls, in a rotating order, so drift in machine load (turbo, GC, other processes) falls on
 * all of them alike; the score is the median of the rounds. Calls are awaited one after the
 * other (the latency-bound case a request path sees).
 *
 * Options: `--rounds N` (default 9), `--calls N` per round and contender (default 200000),
 * `--heap-calls N` (default 1000000).
 */
import { parseArgs } from 'node:util';
import { createBreakerRegistry, createCircuitBreaker, createRetry, createTimeout, wrap } from '@switchyard/resilience';
import {
  ConsecutiveBreaker,
  circuitBreaker as cockatielBreaker,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
  wrap as cockatielWrap,
  ExponentialBackoff,
  handleAll,
  TimeoutStrategy,
} from 'cockatiel';
import Opossum from 'opossum';
import { reportTargets, type Target } from '../target.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    calls: { type: 'string', default: '200000' },
    'heap-calls': { type: 'string', default: '1000000' },
  },
});
const rounds = Number(values.rounds);
const calls = Number(values.calls);
const heapCalls = Number(values['heap-calls']);

const noop = async (): Promise<number> => 1;

/** One contender: a function that makes one guarded call. */
interface Contender {
  readonly name: string;
  readonly call: () => Promise<unknown>;
  /** Included in the heap-growth measurement. */
  readonly heap?: boolean;
}

function contenders(): Contender[] {
  const ours = createCircuitBreaker({ name: 'bench', trip: { type: 'consecutive', failures: 5 }, openDuration: '5s' });
  const oursDefault = createBreakerRegistry().get('bench-default');
  const oursComposition = wrap(
    createRetry({ maxAttempts: 3, backoff: { initial: '100ms', max: '10s', jitter: 'full' } }),
    createCircuitBreaker({ name: 'bench-wrap', trip: { type: 'consecutive', failures: 5 }, openDuration: '5s' }),
    createTimeout({ timeout: '1s' }),
  );
  const opossum = new Opossum(noop, { timeout: false, resetTimeout: 5000 });
  const cockatiel = cockatielBreaker(handleAll, { halfOpenAfter: 5000, breaker: new ConsecutiveBreaker(5) });
  const cockatielComposition = cockatielWrap(
    cockatielRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
    cockatielBreaker(handleAll, { halfOpenAfter: 5000, breaker: new ConsecutiveBreaker(5) }),
  );
  const cockatielWithTimeout = cockatielWrap(
    cockatielRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
    cockatielBreaker(handleAll, { halfOpenAfter: 5000, breaker: new ConsecutiveBreaker(5) }),
    cockatielTimeout(1000, TimeoutStrategy.Cooperative),
  );
  return [
    { name: 'bare', call: noop },
    { name: 'switchyard breaker', call: () => ours.execute(noop), heap: true },
    { name: 'switchyard breaker (time window)', call: () => oursDefault.execute(noop) },
    { name: 'switchyard retry+breaker+timeout', call: () => oursComposition.execute(noop), heap: true },
    { name: 'opossum breaker', call: () => opossum.fire(), heap: true },
    { name: 'cockatiel breaker', call: () => cockatiel.execute(noop), heap: true },
    { name: 'cockatiel retry+breaker', call: () => cockatielComposition.execute(noop), heap: true },
    { name: 'cockatiel retry+breaker+timeout', call: () => cockatielWithTimeout.execute(noop) },
  ];
}

async function runCalls(call: () => Promise<unknown>, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call();
  const ns = Number(process.hrtime.bigint() - start);
  return (n / ns) * 1e9;
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc (npm run bench does)');
  gc();
  gc();
}

/** Heap used after `n` calls minus heap used before, both after a full collection, in bytes. */
async function heapGrowth(call: () => Promise<unknown>, n: number): Promise<number> {
  await runCalls(call, 10_000);
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  await runCalls(call, n);
  collectGarbage();
  return process.memoryUsage().heapUsed - before;
}

const all = contenders();
console.log(`resilience: ${rounds} rounds x ${calls} sequential calls per contender, node ${process.version}`);
for (const c of all) await runCalls(c.call, 20_000); // warm up every path before timing any

const samples = new Map<string, number[]>(all.map((c) => [c.name, []]));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < all.length; i++) {
    const c = all[(i + round) % all.length] as Contender;
    samples.get(c.name)?.push(await runCalls(c.call, calls));
  }
}
const score = new Map([...samples].map(([name, xs]) => [name, median(xs)]));
const bare = score.get('bare') ?? 1;
console.log('');
console.log('contender                              calls/s   vs bare   spread (min..max)');
for (const c of all) {
  const xs = samples.get(c.name) ?? [];
  const s = score.get(c.name) ?? 0;
  console.log(
    `${c.name.padEnd(36)} ${Math.round(s).toString().padStart(10)}   ${(s / bare).toFixed(2).padStart(6)}x   ${Math.round(Math.min(...xs))}..${Math.round(Math.max(...xs))}`,
  );
}

console.log('');
console.log(`heap growth over ${heapCalls} calls (after full GC):`);
const growth = new Map<string, number>();
for (const c of all.filter((x) => x.heap)) {
  const bytes = await heapGrowth(c.call, heapCalls);
  growth.set(c.name, bytes);
  console.log(`${c.name.padEnd(36)} ${(bytes / 1024).toFixed(1).padStart(10)} KiB`);
}

const ratio = (a: string, b: string) => (score.get(a) ?? 0) / (score.get(b) ?? 1);
const kib = (name: string) => (growth.get(name) ?? Number.POSITIVE_INFINITY) / 1024;
console.log('');
const targets: Target[] = [
  {
    what: 'breaker vs cockatiel breaker',
    measured: ratio('switchyard breaker', 'cockatiel breaker'),
    goal: 1,
    kind: 'min',
    unit: 'x',
  },
  {
    what: 'breaker vs opossum breaker',
    measured: ratio('switchyard breaker', 'opossum breaker'),
    goal: 2,
    kind: 'min',
    unit: 'x',
  },
  {
    what: 'retry+breaker+timeout vs cockatiel retry+breaker',
    measured: ratio('switchyard retry+breaker+timeout', 'cockatiel retry+breaker'),
    goal: 1,
    kind: 'min',
    unit: 'x',
  },
  // "No growth": what survives a full GC after 10^6 calls must be noise-sized (well under
  // one byte per call), not a per-call leak.
  {
    what: 'breaker heap growth after 1e6 calls',
    measured: kib('switchyard breaker'),
    goal: 256,
    kind: 'max',
    unit: 'KiB',
  },
  {
    what: 'composition heap growth after 1e6 calls',
    measured: kib('switchyard retry+breaker+timeout'),
    goal: 256,
    kind: 'max',
    unit: 'KiB',
  },
];
reportTargets(targets);
