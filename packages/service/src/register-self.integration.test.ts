import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HealthStatus, isSwitchyardError } from '@switchyard/core';
import {
  createConsulClient,
  createRegistry,
  createRegistryServer,
  type Registry,
  type RegistryServer,
} from '@switchyard/discovery';
import type { LostEvent, RegisteredEvent } from './keep-registered.ts';
import { registerSelf } from './register-self.ts';
import { startService } from './start-service.ts';

const quiet = { info() {}, warn() {}, error() {} };

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `promise`, or `fallback` after `ms`, without a timer left behind to hold the process. */
async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<F>((r) => (timer = setTimeout(() => r(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A registry server on `port` (0: a free one), with a fresh in-memory registry. */
async function startRegistry(port = 0): Promise<{ registry: Registry; server: RegistryServer; port: number }> {
  const registry = createRegistry();
  const server = await createRegistryServer({ registry, port });
  return { registry, server, port: Number(new URL(server.url).port) };
}

async function stopRegistry(r: { registry: Registry; server: RegistryServer }): Promise<void> {
  await r.server.close();
  await r.registry.close();
}

function checkOf(registry: Registry, id: string) {
  return registry.instances(registry.service(id)?.Service ?? '').find((e) => e.Service.ID === id)?.Checks[0];
}

describe('registerSelf with the embedded registry', () => {
  let reg: { registry: Registry; server: RegistryServer; port: number };
  let app: Server;
  let appPort: number;

  before(async () => {
    reg = await startRegistry();
    app = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 404;
      res.end();
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appPort = (app.address() as AddressInfo).port;
  });
  after(async () => {
    app.close();
    await stopRegistry(reg);
  });

  it('registers a TTL check that heartbeats keep passing; close() deregisters, idempotently', async () => {
    const registration = await registerSelf({
      name: 'ttl-svc',
      id: 'ttl-1',
      address: '127.0.0.1',
      port: appPort,
      tags: ['v2'],
      meta: { zone: 'a' },
      registry: reg.server.url,
      check: { type: 'ttl', ttl: '300ms', heartbeat: '60ms' },
      handleSignals: false,
      logger: quiet,
    });
    assert.equal(registration.registered, true);
    assert.equal(registration.id, 'ttl-1');
    const service = reg.registry.service('ttl-1');
    assert.deepEqual([service?.Port, service?.Tags, service?.Meta], [appPort, ['v2'], { zone: 'a' }]);
    await until('the TTL check to pass', () => checkOf(reg.registry, 'ttl-1')?.Status === HealthStatus.Passing);
    // Several TTLs later it still passes: the heartbeats keep it alive.
    await sleep(900);
    assert.equal(checkOf(reg.registry, 'ttl-1')?.Status, HealthStatus.Passing);
    assert.equal(checkOf(reg.registry, 'ttl-1')?.Definition.TTL, '300ms');

    assert.equal(await registration.deregister(), true);
    assert.equal(reg.registry.service('ttl-1'), undefined, 'deregistered');
    await registration.close();
    assert.equal(registration.registered, false);
    assert.equal(await registration.deregister(), true, 'same answer: deregistration happens once');
  });

  it('without heartbeats the TTL check turns critical', async () => {
    const consul = createConsulClient({ url: reg.server.url });
    let paused = false;
    const registration = await registerSelf({
      name: 'ttl-paused',
      address: '127.0.0.1',
      port: appPort,
      // A client in place of the URL.
      registry: {
        register: (r, s) => consul.register(r, s),
        deregister: (id, s) => consul.deregister(id, s),
        passTtl: async (checkId, note, s) => {
          if (!paused) await consul.passTtl(checkId, note, s);
        },
      },
      check: { type: 'ttl', ttl: '200ms', heartbeat: '50ms' },
      handleSignals: false,
      logger: quiet,
    });
    await until('the TTL check to pass', () => checkOf(reg.registry, registration.id)?.Status === 'passing');
    paused = true;
    await until('the check to expire', () => checkOf(reg.registry, registration.id)?.Status === 'critical', 2000);
    assert.equal(checkOf(reg.registry, registration.id)?.Output, 'TTL expired');
    paused = false;
    await until('heartbeats to bring it back', () => checkOf(reg.registry, registration.id)?.Status === 'passing');
    await registration.close();
    await consul.close();
  });

  it("reports the health callback's warning and critical, with output; a throw is critical", async () => {
    let report: () => unknown = () => ({ status: 'warning', output: 'db slow' });
    const registration = await registerSelf({
      name: 'ttl-health',
      address: '127.0.0.1',
      port: appPort,
      registry: reg.server.url,
      check: { type: 'ttl', ttl: '1s', heartbeat: '50ms' },
      health: () => report() as never,
      handleSignals: false,
      logger: quiet,
    });
    const check = () => checkOf(reg.registry, registration.id);
    await until('warning', () => check()?.Status === 'warning' && check()?.Output === 'db slow');
    report = () => 'critical';
    await until('critical', () => check()?.Status === 'critical' && check()?.Output === 'critical');
    assert.equal(reg.registry.instances('ttl-health', { passing: true }).length, 0);
    report = () => ({ status: 'passing', output: 'ok' });
    await until('passing', () => check()?.Status === 'passing' && check()?.Output === 'ok');
    report = () => {
      throw new Error('db down');
    };
    await until('critical from a throw', () => check()?.Output === 'health check failed: db down');
    report = () => ({ status: 'passing', output: 'ok again' });
    await until('passing again', () => check()?.Output === 'ok again');
    report = () => Promise.reject(new Error('db gone'));
    await until('critical from a rejection', () => check()?.Output === 'health check failed: db gone');
    assert.equal(check()?.Status, 'critical');
    report = () => new Promise(() => {});
    await until('critical from a hang', () => check()?.Output === 'health check took longer than 50 ms');
    report = () => ({ status: 'passing', output: 'ok' });
    await until('passing', () => check()?.Status === 'passing' && check()?.Output === 'ok');
    await registration.close();
  });

  it('rejects bad options naming the field', async () => {
    const base = { name: 'x', address: '127.0.0.1', port: appPort, registry: reg.server.url, handleSignals: false };
    const cases: [unknown, string][] = [
      [{ ...base, check: { type: 'ttl' } }, 'service.check.ttl'],
      [{ ...base, check: { type: 'ttl', ttl: '1s', heartbeat: '1s' } }, 'service.check.heartbeat'],
      [{ ...base, check: { type: 'grpc' } }, 'service.check.type'],
      [{ ...base, port: 0 }, 'service.port'],
      [{ ...base, registry: undefined }, 'service.registry'],
      [{ ...base, resyncInterval: 'soon' }, 'service.resyncInterval'],
    ];
    const saved = process.env.SWITCHYARD_REGISTRY_URL;
    delete process.env.SWITCHYARD_REGISTRY_URL;
    try {
      for (const [options, field] of cases) {
        await assert.rejects(
          registerSelf({ logger: quiet, ...(options as { name: string; address: string; port: number }) }),
          (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes(`${field}:`),
          field,
        );
      }
    } finally {
      if (saved !== undefined) process.env.SWITCHYARD_REGISTRY_URL = saved;
    }
  });
});

describe('staying registered when the registry restarts or starts late', () => {
  it('a TTL instance re-appears after the registry restarts without its state', async () => {
    let reg = await startRegistry();
    const events: string[] = [];
    const registration = await registerSelf({
      name: 'phoenix',
      id: 'phoenix-1',
      address: '127.0.0.1',
      port: 9,
      registry: reg.server.url,
      check: { type: 'ttl', ttl: '1s', heartbeat: '50ms' },
      retry: { initial: '20ms', max: '100ms' },
      handleSignals: false,
      logger: quiet,
    });
    registration.onLost((e: LostEvent) => events.push(`lost ${e.id}`));
    registration.onRegistered((e: RegisteredEvent) => events.push(`registered ${e.id} again=${e.reregistered}`));
    await until('passing', () => checkOf(reg.registry, 'phoenix-1')?.Status === 'passing');

    await stopRegistry(reg);
    reg = await startRegistry(reg.port);
    assert.equal(reg.registry.service('phoenix-1'), undefined, 'the new registry starts empty');
    const restarted = Date.now();
    await until('re-registration', () => checkOf(reg.registry, 'phoenix-1')?.Status === 'passing', 3000);
    assert.ok(Date.now() - restarted < 3000);
    assert.deepEqual(events, ['lost phoenix-1', 'registered phoenix-1 again=true']);
    assert.equal(registration.registered, true);
    await registration.close();
    assert.equal(reg.registry.service('phoenix-1'), undefined);
    await stopRegistry(reg);
  });

  it('an HTTP-check instance is found missing by the periodic look-up and registered again', async () => {
    const app = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    let reg = await startRegistry();
    const registration = await registerSelf({
      name: 'http-svc',
      address: '127.0.0.1',
      port: (app.address() as AddressInfo).port,
      registry: reg.server.url,
      check: { path: '/status', interval: '100ms' },
      resyncInterval: '100ms',
      retry: { initial: '20ms', max: '100ms' },
      handleSignals: false,
      logger: quiet,
    });
    await until('passing', () => checkOf(reg.registry, registration.id)?.Status === 'passing');
    assert.match(checkOf(reg.registry, registration.id)?.Definition.HTTP ?? '', /^http:\/\/127\.0\.0\.1:\d+\/status$/);

    await stopRegistry(reg);
    reg = await startRegistry(reg.port);
    await until('re-registration', () => checkOf(reg.registry, registration.id)?.Status === 'passing', 3000);
    await registration.close();
    assert.equal(reg.registry.service(registration.id), undefined);
    await stopRegistry(reg);
    app.close();
  });

  it('retries while the registry is down at start, then registers once it is up', async () => {
    const probe = await startRegistry();
    const port = probe.port;
    await stopRegistry(probe);
    const warnings: string[] = [];
    const started = Date.now();
    const registration = await registerSelf({
      name: 'early',
      id: 'early-1',
      address: '127.0.0.1',
      port: 9,
      registry: `http://127.0.0.1:${port}`,
      check: { type: 'ttl', ttl: '1s', heartbeat: '100ms' },
      retry: { initial: '20ms', max: '100ms' },
      registrationTimeout: '300ms',
      handleSignals: false,
      logger: { ...quiet, warn: (_obj, msg) => warnings.push(msg ?? '') },
    });
    // It resolves after registrationTimeout without throwing; the attempts go on.
    assert.ok(Date.now() - started >= 290);
    assert.equal(registration.registered, false);
    assert.ok(warnings.filter((w) => w === 'registration failed; retrying').length >= 2, warnings.join());
    assert.ok(warnings.includes('not registered yet; registration goes on in the background'));

    const registered = new Promise<RegisteredEvent>((resolve) => registration.onRegistered(resolve));
    const reg = await startRegistry(port);
    const event = await within(registered, 3000, undefined);
    assert.equal(event?.reregistered, false);
    assert.ok((event?.attempts ?? 0) >= 3);
    await until('passing', () => checkOf(reg.registry, 'early-1')?.Status === 'passing');
    await registration.close();
    assert.equal(reg.registry.service('early-1'), undefined);
    await stopRegistry(reg);
  });

  it('startService with a TTL check heartbeats while ready and re-registers after a restart', async () => {
    let reg = await startRegistry();
    let ready = true;
    const service = await startService({
      name: 'svc-ttl',
      port: 0,
      registry: reg.server.url,
      check: { type: 'ttl', ttl: '1s', heartbeat: '50ms' },
      retry: { initial: '20ms', max: '100ms' },
      ready: () => ready,
      handleSignals: false,
      logger: quiet,
      handler: (_req, res) => res.end('ok'),
    });
    assert.equal(checkOf(reg.registry, service.id)?.Definition.TTL, '1s');
    await until('passing', () => checkOf(reg.registry, service.id)?.Status === 'passing');
    ready = false;
    await until('critical while not ready', () => checkOf(reg.registry, service.id)?.Status === 'critical');
    ready = true;
    await stopRegistry(reg);
    reg = await startRegistry(reg.port);
    await until('re-registration', () => checkOf(reg.registry, service.id)?.Status === 'passing', 3000);
    assert.equal(service.registered, true);
    await service.close();
    assert.equal(reg.registry.service(service.id), undefined);
    await stopRegistry(reg);
  });

  it('as a process: SIGTERM deregisters, runs onShutdown, then exits 0', async () => {
    const reg = await startRegistry();
    const example = new URL('../examples/register-self.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, [example], {
      env: {
        ...process.env,
        SWITCHYARD_REGISTRY_URL: reg.server.url,
        SWITCHYARD_INSTANCE_ID: 'greeter-sig',
        PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      await until('greeter to pass', () => checkOf(reg.registry, 'greeter-sig')?.Status === 'passing', 15_000);
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      assert.ok(url, out);
      assert.equal(await (await fetch(url)).text(), 'hello from my own server\n');
      child.kill('SIGTERM');
      const [code, signal] = await within(exited, 10_000, [-1, null] as const);
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, out);
      assert.equal(reg.registry.service('greeter-sig'), undefined, 'deregistered before exit');
      // The log shows the order: deregistered, then exit (onShutdown closed the server).
      const lines = out.split('\n').filter((l) => l.startsWith('{'));
      const msgs = lines.map((l) => (JSON.parse(l) as { msg?: string }).msg);
      assert.ok(msgs.indexOf('shutting down') < msgs.indexOf('deregistered'), out);
      await assert.rejects(fetch(url), 'the server was closed by onShutdown');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await stopRegistry(reg);
    }
  });
});
