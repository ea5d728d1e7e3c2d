import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import { createGateway, type Gateway, type GatewayOptions } from '@switchyard/gateway';
import { type SystemAdmin, startSystemAdmin } from './admin/system-admin.ts';
import { type RolloutCommandIo, RolloutExit, runRollout } from './rollout-command.ts';

function capture(env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const io: RolloutCommandIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env,
    fetch: (...args) => fetch(...args),
  };
  return { io, out: () => out, err: () => err };
}

function instance(version: string, port: number): ServiceInstance {
  return {
    id: `orders-${version}`,
    service: 'orders',
    address: '127.0.0.1',
    port,
    tags: [],
    meta: { version },
    status: 'passing',
    weight: 1,
  };
}

const WRITE_TOKEN = 'cli-write-token-0123456789';

describe('switchyard rollout', () => {
  let upstream: Server;
  let gateway: Gateway;
  let system: SystemAdmin;
  let adminUrl: string;
  const dir = mkdtempSync(join(tmpdir(), 'sy-rollout-cli-'));

  before(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    const options = {
      port: 0,
      admin: { host: '127.0.0.1', port: 0, auth: { tokens: [{ token: WRITE_TOKEN, scope: 'write' }] } },
      subsets: { orders: { v1: { meta: { version: 'v1' } }, v2: { meta: { version: 'v2' } } } },
      routes: [{ path: '/api/orders', name: 'orders', service: 'orders' }],
      rollouts: { orders: { route: 'orders', stable: 'v1', canary: 'v2', pause: '1h' } },
    } as GatewayOptions;
    gateway = await createGateway({
      options,
      discovery: { instances: async () => [instance('v1', port), instance('v2', port)] },
    });
    adminUrl = gateway.adminUrl ?? '';
    system = await startSystemAdmin({
      host: '127.0.0.1',
      port: 0,
      name: 'rollout-test',
      gatewayUrl: gateway.url,
      registryUrl: 'http://127.0.0.1:1',
      services: () => [],
      gateway: gateway.admin,
    });
  });

  after(async () => {
    await system?.close();
    await gateway?.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const env = { SWITCHYARD_ADMIN_TOKEN: WRITE_TOKEN };

  it('starts, shows and aborts a rollout, with exit codes for each refusal', async () => {
    const status = capture(env);
    assert.equal(await runRollout('status', 'orders', { config: 'x', admin: adminUrl }, status.io), RolloutExit.Ok);
    assert.match(status.out(), /^rollout orders {2}IDLE {2}\(canary, route orders\)/);

    const promoteEarly = capture(env);
    assert.equal(
      await runRollout('promote', 'orders', { config: 'x', admin: adminUrl }, promoteEarly.io),
      RolloutExit.Conflict,
    );
    assert.match(promoteEarly.err(), /SY_GATEWAY_ROLLOUT_CONFLICT: cannot promote rollout "orders": it is idle/);

    const start = capture(env);
    assert.equal(await runRollout('start', 'orders', { config: 'x', admin: adminUrl }, start.io), RolloutExit.Ok);
    assert.match(start.out(), /PROGRESSING/);
    assert.match(start.out(), /weights {2}v1 95% {2}v2 5%/);
    assert.match(start.out(), /steps {4}\[5\] 25 50 100/);

    const json = capture(env);
    assert.equal(await runRollout('status', 'orders', { config: 'x', admin: adminUrl, json: true }, json.io), 0);
    assert.equal(JSON.parse(json.out()).rollout.canaryWeight, 5);

    const abort = capture(env);
    assert.equal(
      await runRollout('abort', 'orders', { config: 'x', admin: adminUrl, reason: 'p99 looks off' }, abort.io),
      RolloutExit.Ok,
    );
    assert.match(abort.out(), /ABORTED[\s\S]*progressing -> aborted {2}canary 0% {2}p99 looks off {2}\(operator\)/);
  });

  it('exits 3 for an unknown rollout, 1 unreachable or unauthorised, 2 for bad usage', async () => {
    const unknown = capture(env);
    assert.equal(
      await runRollout('status', 'nope', { config: 'x', admin: adminUrl }, unknown.io),
      RolloutExit.NotFound,
    );
    assert.match(unknown.err(), /SY_GATEWAY_ROLLOUT_NOT_FOUND/);

    const noToken = capture();
    assert.equal(await runRollout('start', 'orders', { config: 'x', admin: adminUrl }, noToken.io), RolloutExit.Failed);
    assert.match(noToken.err(), /SWITCHYARD_ADMIN_TOKEN/);

    const dead = capture(env);
    assert.equal(
      await runRollout('status', 'orders', { config: 'x', admin: 'http://127.0.0.1:1' }, dead.io),
      RolloutExit.Failed,
    );
    assert.match(dead.err(), /SY_CLI_ADMIN_UNREACHABLE/);

    const badUrl = capture(env);
    assert.equal(await runRollout('status', 'orders', { config: 'x', admin: 'nope' }, badUrl.io), RolloutExit.Usage);
    const badName = capture(env);
    assert.equal(await runRollout('status', '../x', { config: 'x', admin: adminUrl }, badName.io), RolloutExit.Usage);
    const noConfig = capture(env);
    assert.equal(
      await runRollout('status', 'orders', { config: join(dir, 'missing.yaml') }, noConfig.io),
      RolloutExit.Usage,
    );
  });

  it('reads the admin URL from the config file', async () => {
    const url = new URL(system.url);
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, `version: "1"\nadmin:\n  host: 127.0.0.1\n  port: ${url.port}\ngateway:\n  routes: []\n`);
    const status = capture(env);
    const code = await runRollout('status', 'orders', { config: file }, status.io);
    assert.equal(code, RolloutExit.Ok, status.err());
  });

  it('works through the admin API of switchyard up, which mounts the gateway endpoints', async () => {
    const start = capture(env);
    assert.equal(await runRollout('start', 'orders', { config: 'x', admin: system.url }, start.io), RolloutExit.Ok);
    const promote = capture(env);
    assert.equal(await runRollout('promote', 'orders', { config: 'x', admin: system.url }, promote.io), RolloutExit.Ok);
    assert.match(promote.out(), /PROMOTED[\s\S]*v2 100%/);
    const list = await fetch(`${system.url}/admin/rollouts`);
    assert.equal(list.status, 200);
    assert.equal(((await list.json()) as { rollouts: { phase: string }[] }).rollouts[0]?.phase, 'promoted');
    assert.deepEqual(gateway.traffic.split('orders'), [
      { subset: 'v1', weight: 0 },
      { subset: 'v2', weight: 100 },
    ]);
  });
});
