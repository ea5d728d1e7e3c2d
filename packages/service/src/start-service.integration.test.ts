import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { createRegistry, createRegistryServer, type Registry, type RegistryServer } from '@switchyard/discovery';
import { startService } from './start-service.ts';

const quiet = { info() {}, warn() {}, error() {} };

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('startService with the embedded registry', () => {
  let registry: Registry;
  let server: RegistryServer;

  before(async () => {
    registry = createRegistry();
    server = await createRegistryServer({ registry, port: 0 });
  });
  after(async () => {
    await server.close();
    await registry.close();
  });

  const passing = (name: string) => registry.instances(name, { passing: true }).map((h) => h.Service.ID);

  it('registers with an HTTP check that passes, serves requests, and deregisters on close', async () => {
    const service = await startService({
      name: 'echo',
      id: 'echo-1',
      port: 0,
      registry: server.url,
      handleSignals: false,
      logger: quiet,
      tags: ['v1'],
      handler: (req, res) => res.end(`echo ${req.url}`),
    });
    const registered = registry.service('echo-1');
    assert.equal(registered?.Port, service.port);
    assert.deepEqual(registered?.Tags, ['v1']);
    await until('the health check to pass', () => passing('echo').includes('echo-1'));

    const res = await fetch(`${service.url}/hello`);
    assert.equal(await res.text(), 'echo /hello');
    const health = await fetch(`${service.url}/health`);
    assert.deepEqual([health.status, await health.json()], [200, { status: 'passing' }]);

    assert.equal(await service.close(), true);
    assert.equal(registry.service('echo-1'), undefined, 'deregistered');
    await assert.rejects(fetch(`${service.url}/hello`), 'no longer listening');
    assert.equal(await service.close(), true, 'close is idempotent');
  });

  it('answers 503 on health while not ready, so the registry marks it critical', async () => {
    let ready = false;
    let closed = false;
    const service = await startService({
      name: 'slow',
      port: 0,
      registry: server.url,
      handleSignals: false,
      logger: quiet,
      ready: () => ready,
      onClose: () => {
        closed = true;
      },
      handler: (_req, res) => res.end('ok'),
    });
    assert.equal((await fetch(`${service.url}/health`)).status, 503);
    await until('the first check to run', () => (registry.instances('slow')[0]?.Checks[0]?.Output ?? '') !== '');
    assert.deepEqual(passing('slow'), []);
    ready = true;
    await until('the check to pass once ready', () => passing('slow').length === 1);
    await service.close();
    assert.equal(closed, true, 'onClose ran');
  });

  it('lets an in-flight request finish during shutdown', async () => {
    let release: (() => void) | undefined;
    const service = await startService({
      name: 'drain',
      port: 0,
      registry: server.url,
      handleSignals: false,
      logger: quiet,
      handler: (_req, res) => {
        release = () => res.end('finished');
      },
    });
    const pending = fetch(`${service.url}/work`).then((r) => r.text());
    await until('the request to arrive', () => release !== undefined);
    const closing = service.close();
    await until('deregistration before the drain ends', () => registry.service(service.id) === undefined);
    release?.();
    assert.equal(await pending, 'finished');
    assert.equal(await closing, true);
  });

  it('fails with SY_SERVICE_REGISTRATION_FAILED when the registry stays unreachable', async () => {
    const dead = await createRegistryServer({ registry: createRegistry(), port: 0 });
    const url = dead.url;
    await dead.close();
    await assert.rejects(
      startService({
        name: 'lonely',
        port: 0,
        registry: url,
        registrationTimeout: '400ms',
        handleSignals: false,
        logger: quiet,
        handler: (_req, res) => res.end(),
      }),
      (err) => isSwitchyardError(err, 'SY_SERVICE_REGISTRATION_FAILED') && err.message.includes(url),
    );
  });

  it('rejects bad options naming the field', async () => {
    await assert.rejects(
      startService({ name: 'bad name!', port: 70_000, handler: () => {}, logger: quiet }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        err.message.includes('service.name') &&
        err.message.includes('service.port'),
    );
  });

  it('fails with SY_SERVICE_LISTEN_FAILED on a port in use', async () => {
    const first = await startService({ name: 'a', port: 0, handleSignals: false, logger: quiet, handler: () => {} });
    await assert.rejects(
      startService({ name: 'b', port: first.port, handleSignals: false, logger: quiet, handler: () => {} }),
      (err) => isSwitchyardError(err, 'SY_SERVICE_LISTEN_FAILED'),
    );
    await first.close();
  });

  it('as a process: SIGTERM deregisters and exits 0; losing its supervisor stops it too', async () => {
    const example = new URL('../examples/hello.ts', import.meta.url).pathname;
    for (const how of ['SIGTERM', 'supervisor-gone'] as const) {
      const child = spawn(process.execPath, [example], {
        env: { ...process.env, SWITCHYARD_REGISTRY_URL: server.url, SWITCHYARD_INSTANCE_ID: `hello-${how}`, PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      let out = '';
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.stderr?.on('data', (c: Buffer) => {
        out += c.toString();
      });
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      await until(`hello-${how} to pass its check`, () => passing('hello').includes(`hello-${how}`), 15_000);
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      assert.ok(url, out);
      assert.equal(await (await fetch(url)).text(), `hello from hello-${how}\n`);
      if (how === 'SIGTERM') child.kill('SIGTERM');
      else child.disconnect();
      const [code, signal] = await exited;
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, out);
      assert.equal(registry.service(`hello-${how}`), undefined, `hello-${how} deregistered`);
    }
  });
});
