/**
 * A fleet of replicas in separate Node processes, each with a circuit breaker in shared mode
 * on the Redis store, each guarding its own in-process dependency that this test makes fail or
 * succeed over IPC. Checks the fleet-wide behaviour the shared store exists for.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deleteKeys, randomPrefix, requireRedis } from './internal/require-redis.ts';
import { createRedisBreakerStateStore, type RedisBreakerStateStore } from './redis-breaker-state-store.ts';

const FLEET = {
  failuresToTrip: 3,
  openDurationMs: 1000,
  maxProbes: 2,
  successesToClose: 2,
  syncIntervalMs: 100,
};
const REPLICAS = 4;
const fixture = fileURLToPath(new URL('./fixtures/breaker-replica.ts', import.meta.url));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Status {
  replicaId: string;
  state: string;
  executions: number;
  probes: number;
  outcomes?: string[];
}

/** One child process and a request/response channel to it. */
class Replica {
  readonly id: string;
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  #seq = 0;
  #pending = new Map<number, (reply: Status) => void>();

  constructor(id: string, prefix: string, breaker: string) {
    this.id = id;
    // NODE_OPTIONS (with --conditions=@switchyard/source, from scripts/test.ts) is inherited.
    this.child = spawn(process.execPath, [fixture, id, prefix, breaker, JSON.stringify(FLEET)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code, signal) => reject(new Error(`replica ${id} exited early (${code ?? signal})`)));
      this.#pending.set(0, () => resolve());
    });
    this.child.on('message', (message: Status & { id: number }) => {
      const settle = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      settle?.(message);
    });
  }

  request(body: Record<string, unknown>, timeoutMs = 10_000): Promise<Status> {
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`replica ${this.id} did not answer ${JSON.stringify(body)} within ${timeoutMs}ms`));
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.child.send({ id, ...body });
    });
  }

  set(mode: 'ok' | 'fail', latencyMs = 0): Promise<Status> {
    return this.request({ cmd: 'set', mode, latencyMs });
  }

  calls(count: number): Promise<Status> {
    return this.request({ cmd: 'calls', count });
  }

  status(): Promise<Status> {
    return this.request({ cmd: 'status' });
  }

  /** Asks the replica to close; kills it if it has not exited within 5s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.request({ cmd: 'close' }, 5000).catch(() => {});
    const exited = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!exited) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Polls `check` until it returns true, failing after `ms` with `what`. */
async function eventually(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    assert.ok(Date.now() < deadline, `not within ${ms}ms: ${what}`);
    await sleep(25);
  }
}

describe('a fleet of processes sharing one breaker through Redis', () => {
  const prefix = randomPrefix('fleet');
  const breaker = 'inventory';
  const replicas: Replica[] = [];
  let observer: RedisBreakerStateStore;

  before(async () => {
    await requireRedis();
    observer = createRedisBreakerStateStore({ keyPrefix: prefix });
    for (let i = 0; i < REPLICAS; i++) replicas.push(new Replica(`r${i}`, prefix, breaker));
    await Promise.all(replicas.map((r) => r.ready));
    // Every replica has reported once it counts as live.
    await eventually('all replicas live in the store', 10_000, async () => {
      return (await observer.read(breaker)).replicas === REPLICAS;
    });
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await observer?.close();
    await deleteKeys(prefix);
  });

  const byId = (i: number) => replicas[i] as Replica;
  const fleetState = () => observer.read(breaker);

  it('one replica seeing only failures does not open the breaker for the others', async () => {
    const lone = byId(0);
    await lone.set('fail');
    const failing = await lone.calls(2 * FLEET.failuresToTrip);
    assert.ok(
      failing.outcomes?.every((o) => o === 'failed'),
      `lone replica outcomes: ${failing.outcomes}`,
    );
    // Its vote reaches the store at its next sync; the fleet counts it and stays closed.
    await eventually('the lone vote is counted', 3000, async () => (await fleetState()).tripped === 1);
    // A few more sync rounds, in which nothing may change.
    await sleep(4 * FLEET.syncIntervalMs);
    const state = await fleetState();
    assert.equal(state.state, 'closed');
    assert.equal(state.generation, 0);
    assert.equal(state.replicas, REPLICAS);
    for (const replica of replicas.slice(1)) {
      const status = await replica.calls(3);
      assert.deepEqual(status.outcomes, ['ok', 'ok', 'ok'], `${replica.id} still calls its dependency`);
      assert.equal(status.state, 'closed');
    }
  });

  it('a quorum of failing replicas opens it for all, the healthy ones included, in bounded time', async () => {
    const second = byId(1);
    await second.set('fail');
    // r0 keeps failing so its vote is renewed; r1 trips too: 2 of 4 is the quorum.
    await Promise.all([byId(0).calls(FLEET.failuresToTrip), second.calls(FLEET.failuresToTrip)]);
    await eventually('the fleet opens', 3000, async () => (await fleetState()).state === 'open');
    const opened = await fleetState();
    assert.equal(opened.generation, 1);
    assert.equal(opened.trips, 1);
    assert.ok(opened.tripped >= 2);

    // The healthy replicas learn it without making a call (watch, or the next sync).
    for (const healthy of [byId(2), byId(3)]) {
      await eventually(
        `${healthy.id} sees the fleet open`,
        2000,
        async () => (await healthy.status()).state === 'open',
      );
      const before = await healthy.status();
      const refused = await healthy.calls(3);
      assert.deepEqual(refused.outcomes, Array(3).fill('SY_RESILIENCE_CIRCUIT_OPEN'));
      assert.equal(refused.executions, before.executions, `${healthy.id} ran no call while open`);
    }
  });

  it('after the open period the fleet sends exactly maxProbes probes, and their successes close it everywhere', async () => {
    // The dependency recovers; probes take a while so every replica asks while slots are held.
    await Promise.all(replicas.map((r) => r.set('ok', 300)));
    const probesBefore = (await Promise.all(replicas.map((r) => r.status()))).map((s) => s.probes);
    await eventually('every replica sees the fleet half-open', FLEET.openDurationMs + 3000, async () => {
      const states = await Promise.all(replicas.map((r) => r.status()));
      return states.every((s) => s.state === 'half-open');
    });

    // A burst: 5 calls at once on each of the 4 replicas.
    const bursts = await Promise.all(replicas.map((r) => r.calls(5)));
    const outcomes = bursts.flatMap((b) => b.outcomes ?? []);
    const probes = bursts.reduce((sum, b, i) => sum + b.probes - (probesBefore[i] ?? 0), 0);
    assert.equal(probes, FLEET.maxProbes, `probe executions across the fleet (outcomes: ${outcomes.join(', ')})`);
    assert.equal(outcomes.filter((o) => o === 'ok').length, FLEET.maxProbes);
    assert.equal(outcomes.filter((o) => o === 'SY_RESILIENCE_CIRCUIT_OPEN').length, outcomes.length - FLEET.maxProbes);

    await eventually('the fleet closes', 3000, async () => (await fleetState()).state === 'closed');
    const closed = await fleetState();
    assert.equal(closed.generation, 2);
    assert.equal(closed.trips, 0);
    await eventually('every replica sees the fleet closed', 2000, async () => {
      const states = await Promise.all(replicas.map((r) => r.status()));
      return states.every((s) => s.state === 'closed');
    });
    await Promise.all(replicas.map((r) => r.set('ok', 0)));
    for (const replica of replicas) {
      const status = await replica.calls(2);
      assert.deepEqual(status.outcomes, ['ok', 'ok'], `${replica.id} calls again`);
    }
  });
});
