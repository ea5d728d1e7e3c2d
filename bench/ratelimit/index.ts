/**
 * `npm run bench -- ratelimit`: decisions per second of the Redis rate limiter
 * (`createRedisRateLimitStore`), beside rate-limiter-flexible's `RateLimiterRedis` and a plain
 * ioredis `SET` (one round trip doing nothing else: the ceiling for one-round-trip limiters),
 * each with 50 decisions in flight from one client against the real Redis; then the
 * exact-admission trials: limit 1000, 5000 attempts fired at once on one key from 4 processes.
 *
 * Contenders run interleaved: each round runs every contender once for the same number of
 * operations, in a rotating order, so drift in machine load falls on all alike; the score is
 * the median of the rounds. Every contender has its own connection; limits are set so every
 * decision is admitted (the same work each time), spread over 1000 keys.
 *
 * Options: `--rounds N` (default 7), `--ops N` per round and contender (default 60000),
 * `--trials N` (default 3), `--url` (default redis://127.0.0.1:6379).
 */
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createRedisRateLimitStore } from '@switchyard/adapter-redis';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { reportTargets, type Target } from '../target.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ops: { type: 'string', default: '60000' },
    trials: { type: 'string', default: '3' },
    url: { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const rounds = Number(values.rounds);
const ops = Number(values.ops);
const trials = Number(values.trials);
const url = values.url;
const IN_FLIGHT = 50;
const KEYS = 1000;
const prefix = `switchyard-bench:${process.pid}:`;
const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);

const connect = async (): Promise<Redis> => {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    console.error(
      `Redis is not reachable at ${url} (${(err as Error).message}); start one with: ` +
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    );
    process.exit(2);
  }
  return client;
};

interface Contender {
  readonly name: string;
  readonly call: (key: string) => Promise<unknown>;
}

const setClient = await connect();
const flexibleClient = await connect();
const ours = createRedisRateLimitStore({ url, keyPrefix: `${prefix}ours:` });
const oursRequest = { limit: 1_000_000_000, periodMs: 3_600_000 };
const flexible = new RateLimiterRedis({
  storeClient: flexibleClient,
  keyPrefix: `${prefix}rlf`,
  points: 1_000_000_000,
  duration: 3600,
});

const contenders: Contender[] = [
  { name: 'ioredis SET (ceiling)', call: (key) => setClient.set(`${prefix}set:${key}`, '1') },
  { name: 'switchyard Redis limiter', call: (key) => ours.consume(key, oursRequest) },
  { name: 'rate-limiter-flexible', call: (key) => flexible.consume(key, 1) },
];

/** Runs `total` calls with `IN_FLIGHT` at a time; returns calls per second. */
async function measure(contender: Contender, total: number): Promise<number> {
  let issued = 0;
  const lane = async () => {
    while (issued < total) {
      const key = keys[issued++ % KEYS] as string;
      await contender.call(key);
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return total / (Number(process.hrtime.bigint() - started) / 1e9);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

// Warm-up: load the scripts, open the connections, let the JIT settle.
for (const c of contenders) await measure(c, 5000);
const scores = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < contenders.length; i++) {
    const c = contenders[(round + i) % contenders.length] as Contender;
    scores.get(c.name)?.push(await measure(c, ops));
  }
}
const result = new Map([...scores].map(([name, xs]) => [name, median(xs)]));
console.log(`decisions/s, ${IN_FLIGHT} in flight, median of ${rounds} rounds of ${ops}:`);
for (const [name, value] of result) console.log(`  ${name.padEnd(28)} ${Math.round(value).toLocaleString('en')}`);

// --- exact admission across processes ---------------------------------------------------
const PROCESSES = 4;
const ATTEMPTS = 5000;
const LIMIT = 1000;
const worker = new URL('./worker.ts', import.meta.url).pathname;
const fleet = Array.from({ length: PROCESSES }, () =>
  fork(worker, [url, `${prefix}fleet:`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
);
const nextMessage = <T>(child: ReturnType<typeof fork>): Promise<T> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a worker did not answer within 20 s')), 20_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
  });
await Promise.all(fleet.map((child) => nextMessage(child)));
let exactTrials = 0;
for (let trial = 0; trial < trials; trial++) {
  const replies = fleet.map((child) => nextMessage<{ admitted: number; denied: number; failed: number }>(child));
  for (const child of fleet) {
    child.send({ key: `trial:${trial}`, attempts: ATTEMPTS / PROCESSES, limit: LIMIT, periodMs: 3_600_000 });
  }
  const results = await Promise.all(replies);
  const admitted = results.reduce((n, r) => n + r.admitted, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(`  trial ${trial + 1}: ${admitted} admitted of ${ATTEMPTS} (${failed} failed)`);
  if (admitted === LIMIT && failed === 0) exactTrials++;
}
for (const child of fleet) child.send({ close: true });

// Clean up what the benchmark wrote.
let cursor = '0';
do {
  const [next, found] = await setClient.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
  cursor = next;
  if (found.length > 0) await setClient.del(...found);
} while (cursor !== '0');
await ours.close();
setClient.disconnect();
flexibleClient.disconnect();

const set = result.get('ioredis SET (ceiling)') as number;
const limiter = result.get('switchyard Redis limiter') as number;
const rlf = result.get('rate-limiter-flexible') as number;
const targets: Target[] = [
  { what: 'Redis limiter vs plain SET', measured: limiter / set, goal: 0.95, kind: 'min', unit: 'x' },
  { what: 'Redis limiter vs rate-limiter-flexible', measured: limiter / rlf, goal: 1.1, kind: 'min', unit: 'x' },
  {
    what: `trials admitting exactly ${LIMIT} of ${ATTEMPTS} from ${PROCESSES} processes`,
    measured: exactTrials,
    goal: trials,
    kind: 'min',
    unit: '',
  },
];
reportTargets(targets);
