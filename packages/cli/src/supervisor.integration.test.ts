/**
 * The supervisor with real child processes and a health view the test controls: dependency
 * order, progress lines, restarts with backoff, crash loops, the `always` policy, stop order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import type { InstanceSpec } from './child-process.ts';
import { type RestartOptions, restartOptionsSchema } from './restart-policy.ts';
import { createSupervisor, type HealthView, type InstanceState, type SupervisedService } from './supervisor.ts';
import { createSupervisorLog } from './supervisor-log.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-supervisor-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Stays up until SIGTERM (exit 0) or SIGUSR2 (exit 0: a clean exit the test triggers).
const longRunning = [
  'node',
  '-e',
  "process.on('SIGTERM',()=>process.exit(0));process.on('SIGUSR2',()=>process.exit(0));console.log('up '+process.pid);setInterval(()=>{},1000)",
];
// The first run stays up; every later run prints a line and exits 3 (counted in a file).
const crashAfterFirst = (counter: string) => [
  'node',
  '-e',
  `const fs=require('node:fs');let n=0;try{n=Number(fs.readFileSync(${JSON.stringify(counter)},'utf8'))}catch{};fs.writeFileSync(${JSON.stringify(counter)},String(n+1));if(n>0){console.error('boom on run '+(n+1));process.exit(3)}process.on('SIGTERM',()=>process.exit(0));console.log('up '+process.pid);setInterval(()=>{},1000)`,
];

function fakeHealth() {
  const passing = new Set<string>();
  const listeners = new Set<() => void>();
  const forgotten: string[] = [];
  const view: HealthView = {
    isPassing: (_service, id) => passing.has(id),
    onChange(listener) {
      listeners.add(listener);
      return { dispose: () => listeners.delete(listener) };
    },
    forget(id) {
      forgotten.push(id);
      passing.delete(id);
    },
  };
  const pass = (...ids: string[]) => {
    for (const id of ids) passing.add(id);
    for (const listener of [...listeners]) listener();
  };
  return { view, pass, forgotten };
}

function service(
  name: string,
  argv: readonly string[],
  opts: { replicas?: number; dependsOn?: string[]; restart?: RestartOptions } = {},
): SupervisedService {
  return {
    name,
    dependsOn: opts.dependsOn ?? [],
    restart: restartOptionsSchema.parse(opts.restart ?? {}),
    instances: Array.from(
      { length: opts.replicas ?? 1 },
      (_, i): InstanceSpec => ({ service: name, id: `${name}-${i + 1}`, argv: [...argv], cwd: dir, env: {} }),
    ),
  };
}

function setup(services: SupervisedService[], startupTimeoutMs = 10_000) {
  const health = fakeHealth();
  let text = '';
  const output = () => text;
  const supervisor = createSupervisor({
    services,
    health: health.view,
    log: createSupervisorLog({ format: 'text', write: (chunk) => (text += chunk) }),
    startupTimeoutMs,
    shutdownTimeoutMs: 2000,
    progressIntervalMs: 30,
  });
  // Marks instances passing once they printed `up` (their signal handlers are installed).
  const ready = async (...ids: string[]) => {
    for (const id of ids) await eventually(`${id} up`, () => new RegExp(`^${id} +\\| up `, 'm').test(output()));
    health.pass(...ids);
  };
  return { supervisor, health, ready, output };
}

async function eventually<T>(what: string, fn: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const stateOf = (states: InstanceState[], id: string) => {
  const found = states.find((s) => s.id === id);
  assert.ok(found, `no state for ${id}`);
  return found;
};

describe('supervisor', () => {
  it('starts a service only once every instance of its dependencies is healthy, printing progress', async (t) => {
    // web is listed first but depends on db, which has two replicas.
    const { supervisor, health, output } = setup([
      service('web', longRunning, { dependsOn: ['db'] }),
      service('db', longRunning, { replicas: 2 }),
    ]);
    t.after(() => supervisor.stop());
    const started = supervisor.start();

    await eventually('db started', () => supervisor.instances().length === 2);
    assert.deepEqual(
      supervisor.instances().map((i) => i.spec.id),
      ['db-1', 'db-2'],
    );
    await eventually('progress lines', () => output().includes('web waits for db (healthy 0/3)'));
    assert.match(output(), /switchyard: waiting for db-1 \(healthy 0\/3\)/);

    health.pass('db-1');
    await eventually('db-1 healthy', () => output().includes('db-1 is healthy (1/3)'));
    assert.equal(stateOf(supervisor.instanceStates(), 'web-1').pid, undefined, 'web waits for db-2 too');

    health.pass('db-2');
    await eventually('web started', () => stateOf(supervisor.instanceStates(), 'web-1').state === 'starting');
    health.pass('web-1');
    await started;
    assert.deepEqual(
      supervisor.instanceStates().map((s) => [s.id, s.state, s.restarts, typeof s.pid]),
      [
        ['web-1', 'running', 0, 'number'],
        ['db-1', 'running', 0, 'number'],
        ['db-2', 'running', 0, 'number'],
      ],
    );

    await supervisor.stop();
    const states = supervisor.instanceStates();
    assert.ok(states.every((s) => s.state === 'stopped' && s.pid === undefined));
    // Dependents stop first: web exited before either db instance.
    const at = (id: string) => stateOf(states, id).lastExit?.at ?? Number.NaN;
    assert.ok(at('web-1') <= at('db-1') && at('web-1') <= at('db-2'), JSON.stringify(states));
  });

  it('restarts an instance killed after start-up with backoff, and marks it running once healthy again', async (t) => {
    const { supervisor, health, ready, output } = setup([
      service('api', longRunning, { restart: { backoff: { initial: '150ms' } } }),
    ]);
    t.after(() => supervisor.stop());
    const started = supervisor.start();
    await ready('api-1');
    await started;

    const firstPid = stateOf(supervisor.instanceStates(), 'api-1').pid;
    assert.ok(firstPid);
    const killedAt = Date.now();
    process.kill(firstPid, 'SIGKILL');
    await eventually('restarting', () => stateOf(supervisor.instanceStates(), 'api-1').state === 'restarting');
    assert.deepEqual(health.forgotten, ['api-1'], 'the dead instance is deregistered');
    assert.match(output(), /api-1 exited \(signal SIGKILL\); restarting in 150ms \(restart 1\)/);

    const restarted = await eventually('a new process', () => {
      const state = stateOf(supervisor.instanceStates(), 'api-1');
      return state.state === 'starting' && state.pid !== undefined ? state : undefined;
    });
    assert.ok(Date.now() - killedAt >= 140, 'waited out the backoff');
    assert.notEqual(restarted.pid, firstPid);
    assert.equal(restarted.restarts, 1);
    assert.deepEqual(restarted.lastExit && { code: restarted.lastExit.code, signal: restarted.lastExit.signal }, {
      code: null,
      signal: 'SIGKILL',
    });

    health.pass('api-1');
    await eventually('running again', () => stateOf(supervisor.instanceStates(), 'api-1').state === 'running');
    assert.match(output(), /api-1 is healthy again \(restart 1\)/);

    // The second crash waits twice as long: exponential backoff.
    process.kill(restarted.pid as number, 'SIGKILL');
    await eventually('second restart scheduled', () => output().includes('restarting in 300ms (restart 2)'));
  });

  it('reports a crash loop with the exits and the last output, and stops restarting', async (t) => {
    const counter = join(dir, 'crash-counter');
    const { supervisor, ready, output } = setup([
      service('flaky', crashAfterFirst(counter), {
        restart: { backoff: { initial: '20ms' }, crashLoop: { restarts: 2, window: '1m' } },
      }),
    ]);
    t.after(() => supervisor.stop());
    const started = supervisor.start();
    await ready('flaky-1');
    await started;

    process.kill(stateOf(supervisor.instanceStates(), 'flaky-1').pid as number, 'SIGKILL');
    const state = await eventually('crash loop', () => {
      const s = stateOf(supervisor.instanceStates(), 'flaky-1');
      return s.state === 'crash-loop' ? s : undefined;
    });
    assert.equal(state.restarts, 2);
    assert.equal(state.pid, undefined);
    assert.deepEqual(state.lastExit && [state.lastExit.code, state.lastExit.signal], [3, null]);
    const text = output();
    assert.match(text, /flaky-1 is crash-looping: 3 exits within 1m0s \(more than crashLoop\.restarts: 2\)/);
    assert.match(text, /exits: signal SIGKILL, code 3, code 3/);
    assert.match(text, /last output:\n {4}boom on run 3/);

    // No further start: the counter stays at three runs.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(readFileSync(counter, 'utf8'), '3');
    assert.equal(stateOf(supervisor.instanceStates(), 'flaky-1').state, 'crash-loop');
  });

  it('`always` restarts a clean exit; `on-failure` leaves it stopped', async (t) => {
    const { supervisor, ready, output } = setup([
      service('worker', longRunning, { restart: { policy: 'always', backoff: { initial: '10ms' } } }),
      service('batch', longRunning),
    ]);
    t.after(() => supervisor.stop());
    const started = supervisor.start();
    await ready('worker-1', 'batch-1');
    await started;

    const workerPid = stateOf(supervisor.instanceStates(), 'worker-1').pid as number;
    process.kill(workerPid, 'SIGUSR2');
    process.kill(stateOf(supervisor.instanceStates(), 'batch-1').pid as number, 'SIGUSR2');

    const worker = await eventually('worker restarted', () => {
      const s = stateOf(supervisor.instanceStates(), 'worker-1');
      return s.restarts === 1 && s.pid !== undefined ? s : undefined;
    });
    assert.notEqual(worker.pid, workerPid);
    assert.deepEqual(worker.lastExit && [worker.lastExit.code, worker.lastExit.signal], [0, null]);
    await eventually('batch stopped', () => output().includes('batch-1 exited (code 0); it is no longer served'));
    const batch = stateOf(supervisor.instanceStates(), 'batch-1');
    assert.deepEqual([batch.state, batch.restarts, batch.pid], ['stopped', 0, undefined]);
  });

  it('fails the start with the last output when an instance exits during start-up', async (t) => {
    const { supervisor } = setup([
      service('broken', ['node', '-e', "console.error('missing DATABASE_URL');process.exit(4)"]),
    ]);
    t.after(() => supervisor.stop());
    await assert.rejects(supervisor.start(), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CLI_SERVICE_FAILED'));
      assert.match(err.message, /broken-1 exited during start-up \(code 4\)\. Last output:\n {4}missing DATABASE_URL/);
      return true;
    });
  });

  it('under `always`, a start-up crash loop fails the start with SY_CLI_CRASH_LOOP', async (t) => {
    const { supervisor } = setup([
      service('broken', ['node', '-e', "console.error('no config');process.exit(2)"], {
        restart: { policy: 'always', backoff: { initial: '10ms' }, crashLoop: { restarts: 2 } },
      }),
    ]);
    t.after(() => supervisor.stop());
    await assert.rejects(supervisor.start(), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CLI_CRASH_LOOP'));
      assert.match(err.message, /broken-1 is crash-looping: 3 exits/);
      assert.match(err.message, /no config/);
      return true;
    });
    assert.equal(stateOf(supervisor.instanceStates(), 'broken-1').restarts, 2);
  });

  it('times out naming the instances still starting and the services still waiting', async (t) => {
    const { supervisor } = setup(
      [service('slow', longRunning), service('after', longRunning, { dependsOn: ['slow'] })],
      300,
    );
    t.after(() => supervisor.stop());
    await assert.rejects(supervisor.start(), (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CLI_STARTUP_TIMEOUT'));
      assert.match(err.message, /not healthy within 300ms: slow-1 \(starting\), after \(waiting for slow\)/);
      return true;
    });
  });
});
