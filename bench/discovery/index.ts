/**
 * `npm run bench -- discovery`: nanoseconds per `pick()` of every balancer over 10 and 100
 * instances, then (when `./fanout.ts` is present) how fast a registry change reaches 500
 * watchers and how many registrations per second the registry takes.
 *
 * Balancers run interleaved: each round runs every contender once for the same number of
 * picks, in a rotating order, so drift in machine load falls on all of them alike; the score is
 * the median of the rounds. Load-aware balancers read a store primed with real feedback
 * (latencies and requests in flight), so their picks compare real numbers.
 *
 * Options: `--rounds N` (default 9), `--picks N` per round and contender (default 200000).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ServiceInstance } from '@switchyard/core';
import {
  type Balancer,
  BalancerKind,
  createBalancer,
  createInstanceStats,
  createOutlierDetector,
  type PickOptions,
} from '@switchyard/discovery';
import { reportTargets, type Target } from '../target.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    picks: { type: 'string', default: '200000' },
  },
});
const rounds = Number(values.rounds);
const picks = Number(values.picks);
const sizes = [10, 100] as const;

function pool(n: number): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) =>
    Object.freeze({
      id: `orders-${i}`,
      service: 'orders',
      address: '10.0.0.1',
      port: 8000 + i,
      tags: [],
      meta: {},
      status: 'passing' as const,
      weight: 1 + (i % 3),
    }),
  );
}

/** One contender: a balancer, the list it picks from and whether picks carry a key. */
interface Contender {
  readonly name: string;
  readonly size: number;
  readonly balancer: Balancer;
  readonly list: readonly ServiceInstance[];
  readonly keyed: boolean;
}

const kinds: readonly { name: string; kind: BalancerKind; keyed?: boolean; outliers?: boolean }[] = [
  { name: 'round robin', kind: BalancerKind.RoundRobin },
  { name: 'random (weighted)', kind: BalancerKind.Random },
  { name: 'smooth weighted round robin', kind: BalancerKind.WeightedRoundRobin },
  { name: 'P2C least request', kind: BalancerKind.LeastRequest },
  { name: 'P2C peak-EWMA', kind: BalancerKind.PeakEwma },
  { name: 'ring hash (keyed)', kind: BalancerKind.RingHash, keyed: true },
  { name: 'P2C least request + outlier ejection', kind: BalancerKind.LeastRequest, outliers: true },
];

function contenders(): Contender[] {
  const out: Contender[] = [];
  for (const size of sizes) {
    for (const k of kinds) {
      const list = pool(size);
      const stats = createInstanceStats();
      // Prime the store as real traffic would: a latency per instance, a few requests in flight.
      for (const [i, instance] of list.entries()) {
        stats.begin(instance);
        stats.end(instance, { statusCode: 200, latencyMs: 5 + (i % 7) * 3 });
        for (let p = 0; p < i % 4; p++) stats.begin(instance);
      }
      const outliers = k.outliers ? createOutlierDetector({}, { stats }) : undefined;
      const balancer = createBalancer(k.kind, outliers === undefined ? { stats } : { stats, outliers });
      out.push({ name: k.name, size, balancer, list, keyed: k.keyed === true });
    }
  }
  return out;
}

const keys: PickOptions[] = Array.from({ length: 1024 }, (_, i) => ({ key: `user-${i * 7919}` }));
let sink = 0;

/** Nanoseconds per pick over `n` picks. */
function run(c: Contender, n: number): number {
  const { balancer, list } = c;
  const start = process.hrtime.bigint();
  if (c.keyed) {
    for (let i = 0; i < n; i++) sink += balancer.pick(list, keys[i & 1023])?.port ?? 0;
  } else {
    for (let i = 0; i < n; i++) sink += balancer.pick(list)?.port ?? 0;
  }
  return Number(process.hrtime.bigint() - start) / n;
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const all = contenders();
console.log(`discovery: pick() ns/call, ${rounds} rounds x ${picks} picks per contender, node ${process.version}`);
for (const c of all) run(c, 50_000); // warm up every path before timing any

const samples = new Map<Contender, number[]>(all.map((c) => [c, []]));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < all.length; i++) {
    const c = all[(i + round) % all.length] as Contender;
    samples.get(c)?.push(run(c, picks));
  }
}

const nsOf = (name: string, size: number): number => {
  const c = all.find((x) => x.name === name && x.size === size) as Contender;
  return median(samples.get(c) ?? []);
};
const width = Math.max(...kinds.map((k) => k.name.length));
console.log(`${'balancer'.padEnd(width)}  ${sizes.map((s) => `${s} instances`.padStart(14)).join('')}`);
for (const k of kinds) {
  console.log(`${k.name.padEnd(width)}  ${sizes.map((s) => `${nsOf(k.name, s).toFixed(1)} ns`.padStart(14)).join('')}`);
}
if (sink === -1) console.log(sink); // keeps the picks observable

/** What `./fanout.ts` provides, when present. */
interface FanoutModule {
  fanout(): Promise<{ p50Ms: number; p99Ms: number; lines: readonly string[] }>;
  registerThroughput(): Promise<{ lines: readonly string[] }>;
}

const targets: Target[] = [];
const worst = (name: string) => Math.max(...sizes.map((s) => nsOf(name, s)));
targets.push({ what: 'pick() round robin', measured: worst('round robin'), goal: 1000, kind: 'max', unit: 'ns' });
targets.push({
  what: 'pick() P2C least request',
  measured: worst('P2C least request'),
  goal: 1000,
  kind: 'max',
  unit: 'ns',
});
targets.push({ what: 'pick() P2C peak-EWMA', measured: worst('P2C peak-EWMA'), goal: 1000, kind: 'max', unit: 'ns' });

const fanoutFile = new URL('./fanout.ts', import.meta.url);
if (existsSync(fanoutFile)) {
  const fanoutModule = (await import(fanoutFile.href)) as FanoutModule;
  const fan = await fanoutModule.fanout();
  for (const line of fan.lines) console.log(line);
  const reg = await fanoutModule.registerThroughput();
  for (const line of reg.lines) console.log(line);
  targets.push({ what: 'change reaches 500 watchers p99', measured: fan.p99Ms, goal: 50, kind: 'max', unit: 'ms' });
} else {
  console.log('fanout: bench/discovery/fanout.ts not present; watcher fan-out not measured');
}

reportTargets(targets);
