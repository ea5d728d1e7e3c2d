import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { createRegistry, createRegistryServer } from '@switchyard/discovery';
import { type IstioResource, validateIstioResources } from '@switchyard/mesh';
import type { AdminCommandIo } from './admin-client.ts';
import { MeshIstioExit, runMeshIstio } from './mesh-istio-command.ts';
import { RolloutExit, runRollout } from './rollout-command.ts';

// Two `switchyard gateway` processes share one rollout through Redis or PostgreSQL. Each
// controller polls the store every second (the controller's default `pollMs`) and applies the
// stored weights to its own routes, so a replica's traffic follows a change made through the
// other within one poll; its admin API reads the store on every request and agrees at once.

const bin = join(import.meta.dirname, 'bin.ts');
const POSTGRES_URL = process.env.SWITCHYARD_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = 'redis://127.0.0.1:6379';
/** One poll (1 s) plus the discovery client's first read, with room for a busy machine. */
const PROPAGATION_MS = 8000;

interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

interface GatewayProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly admin: string;
  output(): string;
}

/** Spawns `switchyard gateway -c file` and resolves once it logs `gateway listening` (15 s at most). */
async function startGateway(t: TestContext, file: string, registryUrl: string): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--conditions=@switchyard/source', bin, 'gateway', '-c', file], {
    env: { ...process.env, SWITCHYARD_REGISTRY_URL: registryUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let raw = '';
  let buffered = '';
  const listening = new Promise<LogLine>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway not listening within 15 s; output:\n${raw}`)), 15_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code ?? signal}) before listening; output:\n${raw}`));
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      raw += chunk;
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const line = JSON.parse(buffered.slice(0, newline)) as LogLine;
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        if (line.msg === 'gateway listening') {
          clearTimeout(timer);
          resolve(line);
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      raw += chunk.toString();
    });
  });
  const line = await listening;
  return { child, url: String(line.url), admin: String(line.admin), output: () => raw };
}

async function killHard(gateway: GatewayProcess): Promise<void> {
  const exited = once(gateway.child, 'exit');
  gateway.child.kill('SIGKILL');
  const [code, signal] = await exited;
  assert.equal(signal, 'SIGKILL', `exit code ${code}`);
}

async function upstream(t: TestContext, body: string): Promise<number> {
  const server: Server = createServer((req, res) => {
    req.resume();
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** Fails (never skips) with how to start the service when nothing listens on the port. */
async function requireService(port: number, what: string): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  try {
    await Promise.race([
      once(socket, 'connect'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('connect timed out')), 3000)),
    ]);
  } catch (err) {
    throw new Error(`${what} is needed on 127.0.0.1:${port} (${(err as Error).message}); start it and run again`);
  } finally {
    socket.destroy();
  }
}

interface RolloutBody {
  readonly phase: string;
  readonly step: number;
  readonly canaryWeight: number;
  readonly split?: readonly { readonly subset: string; readonly weight: number }[];
  readonly version: number;
  readonly history: readonly { readonly to: string; readonly by: string }[];
}

async function rolloutOf(gateway: GatewayProcess, name: string): Promise<RolloutBody> {
  const res = await fetch(`${gateway.admin}/admin/rollouts/${name}`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { rollout: RolloutBody };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.rollout;
}

/** `switchyard rollout <action> <name> --admin <url>`, its exit code and output. */
async function cli(action: 'start' | 'status' | 'promote' | 'abort', name: string, admin: string) {
  let out = '';
  let err = '';
  const io: AdminCommandIo = {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    env: {},
    fetch: (...args) => fetch(...args),
  };
  const code = await runRollout(action, name, { config: 'unused.yaml', admin, json: true }, io);
  return { code, out, err };
}

/** Retries `check` until it stops throwing or `ms` pass; then throws its last failure. */
async function eventually<T>(what: string, check: () => Promise<T>, ms = PROPAGATION_MS): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Bodies of `n` requests through the gateway, counted by body (`v1`, `v2`). */
async function sample(gateway: GatewayProcess, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${gateway.url}/api/orders`, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    counts[body] = (counts[body] ?? 0) + 1;
  }
  return counts;
}

/**
 * Waits until the gateway serves only `subset` (40 answers in a row: at a 20% split that
 * happens by chance once in 7,500 tries), then checks 50 more. A replica switches at its next
 * poll, so the first answers may still come from the old split.
 */
async function servesOnly(gateway: GatewayProcess, subset: string): Promise<void> {
  await eventually(`${gateway.url} to serve only ${subset}`, async () => {
    const counts = await sample(gateway, 40);
    assert.deepEqual(counts, { [subset]: 40 });
  });
  assert.deepEqual(await sample(gateway, 50), { [subset]: 50 });
}

/**
 * Waits until the gateway answers from both subsets (the split is applied: before it, one
 * subset served everything), then checks the canary's share over 400 requests.
 */
async function splitsAround(gateway: GatewayProcess, canaryPercent: number): Promise<void> {
  await eventually(`${gateway.url} to apply the split`, async () => {
    const counts = await sample(gateway, 20);
    assert.ok((counts.v1 ?? 0) > 0 && (counts.v2 ?? 0) > 0, `one subset serves all: ${JSON.stringify(counts)}`);
  });
  const n = 400;
  const counts = await sample(gateway, n);
  const share = ((counts.v2 ?? 0) / n) * 100;
  // 400 draws at 20%: one standard deviation is 2 points; 8 points is four of them.
  assert.ok(
    Math.abs(share - canaryPercent) <= 8,
    `canary share ${share}% is not within 8 points of ${canaryPercent}%: ${JSON.stringify(counts)}`,
  );
  assert.equal((counts.v1 ?? 0) + (counts.v2 ?? 0), n, `only v1 and v2 answer: ${JSON.stringify(counts)}`);
}

const configFor = (name: string, store: string) => `version: 1
gateway:
  port: 0
  admin:
    host: 127.0.0.1
    port: 0
  subsets:
    orders:
      v1: { meta: { version: v1 } }
      v2: { meta: { version: v2 } }
  routes:
    - path: /api/orders
      name: orders
      service: orders
      traffic: { subset: v1 }
  rollouts:
    ${name}:
      route: orders
      stable: v1
      canary: v2
      steps: [20, 50, 100]
      # Steps advance only by hand here, so every weight the test sees was set by an operator.
      pause: 1h
      store: ${store}
`;

const run = promisify(execFile);

const backends = [
  {
    label: 'Redis',
    store: REDIS_URL,
    port: 6379,
    // The rollout's keys, removed with redis-cli (drivers stay in adapters/).
    cleanup: async (name: string) => {
      const base = 'switchyard:rollout:{rollouts}:';
      await run('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'DEL', `${base}record:${name}`, `${base}lease:${name}`]);
      await run('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'SREM', `${base}names`, name]);
    },
  },
  {
    label: 'PostgreSQL',
    store: POSTGRES_URL,
    port: 5432,
    cleanup: async (name: string) => {
      const sql = `DELETE FROM switchyard.rollouts WHERE name = '${name}'; DELETE FROM switchyard.rollout_leases WHERE name = '${name}';`;
      await run('psql', [POSTGRES_URL, '-qc', sql]);
    },
  },
] as const;

describe('one rollout shared by two switchyard gateway processes', () => {
  for (const backend of backends) {
    it(`${backend.label}: both replicas agree on every change, a SIGKILLed replica comes back with the state, Istio gets the same weights`, async (t) => {
      await requireService(backend.port, backend.label);
      // A rollout name of its own per run: the store's keys and rows are named after it.
      const name = `orders-${randomUUID().slice(0, 8)}`;
      t.after(() => backend.cleanup(name));

      const registry = createRegistry();
      t.after(() => registry.close());
      const registryServer = await createRegistryServer({ registry, host: '127.0.0.1', port: 0 });
      t.after(() => registryServer.close());
      const [v1, v2] = await Promise.all([upstream(t, 'v1'), upstream(t, 'v2')]);
      registry.register({ ID: 'orders-v1', Name: 'orders', Address: '127.0.0.1', Port: v1, Meta: { version: 'v1' } });
      registry.register({ ID: 'orders-v2', Name: 'orders', Address: '127.0.0.1', Port: v2, Meta: { version: 'v2' } });

      const dir = mkdtempSync(join(tmpdir(), 'switchyard-rollout-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, configFor(name, backend.store));

      const pair = await Promise.all([
        startGateway(t, file, registryServer.url),
        startGateway(t, file, registryServer.url),
      ]);
      let a = pair[0];
      const b = pair[1];
      assert.equal((await rolloutOf(a, name)).phase, 'idle');
      assert.equal((await rolloutOf(b, name)).phase, 'idle');
      await servesOnly(b, 'v1');

      // Started through A: B's admin API reads the store, so it agrees at once.
      const started = await cli('start', name, a.admin);
      assert.equal(started.code, RolloutExit.Ok, started.err);
      const onB = await rolloutOf(b, name);
      assert.equal(onB.phase, 'progressing');
      assert.equal(onB.step, 0);
      assert.equal(onB.canaryWeight, 20);
      assert.deepEqual(onB.split, [
        { subset: 'v1', weight: 80 },
        { subset: 'v2', weight: 20 },
      ]);
      assert.equal(onB.version, (await rolloutOf(a, name)).version);
      // B's traffic follows at its next poll.
      await splitsAround(b, 20);

      // Promoted through B: A routes everything to the canary.
      const promoted = await cli('promote', name, b.admin);
      assert.equal(promoted.code, RolloutExit.Ok, promoted.err);
      const onA = await rolloutOf(a, name);
      assert.equal(onA.phase, 'promoted');
      assert.deepEqual(onA.split, [
        { subset: 'v1', weight: 0 },
        { subset: 'v2', weight: 100 },
      ]);
      await servesOnly(a, 'v2');
      await servesOnly(b, 'v2');

      // A finished rollout cannot be aborted, whichever replica is asked.
      const late = await cli('abort', name, a.admin);
      assert.equal(late.code, RolloutExit.Conflict);
      assert.match(late.err, /SY_GATEWAY_ROLLOUT_CONFLICT: cannot abort rollout .* it is promoted/);

      // Started again through B, aborted through A: B sends everything back to stable.
      assert.equal((await cli('start', name, b.admin)).code, RolloutExit.Ok);
      await splitsAround(a, 20);
      const aborted = await cli('abort', name, a.admin);
      assert.equal(aborted.code, RolloutExit.Ok, aborted.err);
      assert.equal((await rolloutOf(b, name)).phase, 'aborted');
      await servesOnly(b, 'v1');

      // Progressing again, then A is killed without a chance to clean up and restarted.
      assert.equal((await cli('start', name, a.admin)).code, RolloutExit.Ok);
      await splitsAround(a, 20);
      const before = await rolloutOf(a, name);
      await killHard(a);
      a = await startGateway(t, file, registryServer.url);
      const after = await rolloutOf(a, name);
      assert.equal(after.phase, 'progressing');
      assert.equal(after.step, before.step);
      assert.equal(after.canaryWeight, 20);
      assert.equal(after.version, before.version);
      assert.deepEqual(
        after.history.map((h) => [h.to, h.by]),
        [
          ['progressing', 'operator'],
          ['promoted', 'operator'],
          ['progressing', 'operator'],
          ['aborted', 'operator'],
          ['progressing', 'operator'],
        ],
      );
      await splitsAround(a, 20);
      assert.equal((await rolloutOf(b, name)).version, before.version, 'nothing was written meanwhile');

      // Teams on Istio export the same step: `switchyard mesh istio --rollouts <admin>`.
      let json = '';
      let notes = '';
      const exported = await runMeshIstio(
        { config: file, namespace: 'shop', output: 'json', rollouts: b.admin },
        {
          out: (text) => {
            json += text;
          },
          err: (text) => {
            notes += text;
          },
        },
      );
      assert.equal(exported, MeshIstioExit.Ok, notes);
      const resources = (JSON.parse(json) as { items: IstioResource[] }).items;
      assert.deepEqual(validateIstioResources(resources), []);
      const service = resources.find((r) => r.kind === 'VirtualService' && r.metadata.name === 'orders');
      assert.ok(service !== undefined, 'a VirtualService for orders');
      const http = (service.spec as { http: { name: string; route: unknown }[] }).http;
      const host = 'orders.shop.svc.cluster.local';
      assert.deepEqual(http.find((h) => h.name === 'orders')?.route, [
        { destination: { host, subset: 'v1' }, weight: 80 },
        { destination: { host, subset: 'v2' }, weight: 20 },
      ]);

      // And the restarted replica still acts on the shared state: promoted through it, B follows.
      assert.equal((await cli('promote', name, a.admin)).code, RolloutExit.Ok);
      await servesOnly(b, 'v2');
    });
  }
});
