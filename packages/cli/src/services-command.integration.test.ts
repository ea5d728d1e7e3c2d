import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRegistryBackend } from '@switchyard/backends';
import { createRegistry, createRegistryServer, type Registry, type RegistryServer } from '@switchyard/discovery';
import { runServices } from './services-command.ts';

const ETCD = process.env.SWITCHYARD_ETCD_URL ?? 'http://127.0.0.1:23790';

const dir = mkdtempSync(join(tmpdir(), 'sy-services-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes a switchyard.yaml with this `registry:` section (YAML lines), running orders and routing to payments. */
function configWith(registryLines: string[]): string {
  const file = join(dir, `switchyard-${++files}.yaml`);
  writeFileSync(
    file,
    [
      'version: 1',
      'registry:',
      ...registryLines.map((line) => `  ${line}`),
      'gateway:',
      '  port: 0',
      '  routes:',
      '    - { path: /api/payments, service: payments }',
      'services:',
      '  orders: { command: node src/orders.ts }',
      '',
    ].join('\n'),
  );
  return file;
}

/** Runs the command in-process, capturing what it prints. */
async function run(opts: Parameters<typeof runServices>[0]) {
  let stdout = '';
  let stderr = '';
  const code = await runServices(opts, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

describe('switchyard services: embedded registry (its Consul API)', () => {
  let registry: Registry;
  let server: RegistryServer;
  let config: string;
  before(async () => {
    registry = createRegistry();
    server = await createRegistryServer({ registry, port: 0 });
    registry.register({
      Name: 'orders',
      ID: 'orders-1',
      Address: '127.0.0.1',
      Port: 4001,
      Check: { TTL: '1m', Status: 'passing' },
    });
    registry.register({
      Name: 'orders',
      ID: 'orders-2',
      Address: '127.0.0.1',
      Port: 4002,
      Check: { TTL: '1m', Status: 'critical' },
    });
    config = configWith(['host: 127.0.0.1', `port: ${new URL(server.url).port}`]);
  });
  after(async () => {
    await server.close();
    await registry.close();
  });

  it('prints each configured service with its instances and health, 0', async () => {
    const { code, stdout, stderr } = await run({ config });
    assert.equal(code, 0, stderr);
    const lines = stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    assert.equal(lines[0], `registry: embedded registry ${server.url}`);
    assert.ok(lines.includes('SERVICE INSTANCE ADDRESS HEALTH'), stdout);
    assert.ok(lines.includes('orders orders-1 127.0.0.1:4001 passing'), stdout);
    assert.ok(lines.includes('orders orders-2 127.0.0.1:4002 critical'), stdout);
    assert.ok(lines.includes('payments - - no instances'), stdout);
  });

  it('prints JSON with --json, through the bin', async () => {
    const child = spawn(
      process.execPath,
      [new URL('./bin.ts', import.meta.url).pathname, 'services', '-c', config, '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
    const parsed = JSON.parse(out) as { services: { service: string; instances: { id: string; health: string }[] }[] };
    assert.deepEqual(
      parsed.services.map((s) => [s.service, s.instances.map((i) => `${i.id}:${i.health}`)]),
      [
        ['orders', ['orders-1:passing', 'orders-2:critical']],
        ['payments', []],
      ],
    );
  });
});

describe('switchyard services: etcd', () => {
  it('lists the instances under the configured prefix', async () => {
    const prefix = `/sy-test-services-cmd/${process.pid}-${Math.random().toString(36).slice(2, 8)}/`;
    const backend = await openRegistryBackend({ backend: 'etcd', url: ETCD, prefix });
    try {
      await backend.register({ Name: 'payments', ID: 'payments-7', Address: '10.0.0.7', Port: 8080 });
      const config = configWith(['backend: etcd', `url: ${ETCD}`, `prefix: ${prefix}`]);
      const { code, stdout, stderr } = await run({ config, json: true });
      assert.equal(code, 0, stderr);
      const parsed = JSON.parse(stdout) as { registry: string; services: { service: string; instances: unknown[] }[] };
      assert.equal(parsed.registry, `etcd ${ETCD} (prefix ${prefix})`);
      assert.deepEqual(parsed.services, [
        { service: 'orders', instances: [] },
        {
          service: 'payments',
          instances: [{ id: 'payments-7', address: '10.0.0.7', port: 8080, health: 'passing', tags: [], meta: {} }],
        },
      ]);
    } finally {
      await backend.close();
    }
  });
});

describe('switchyard services: failures', () => {
  it('exits 1 naming the embedded registry when nothing listens there', async () => {
    const port = await closedPort();
    const { code, stderr } = await run({ config: configWith([`port: ${port}`]) });
    assert.equal(code, 1);
    assert.match(
      stderr,
      new RegExp(
        `^error SY_CLI_REGISTRY_UNREACHABLE: embedded registry http://127\\.0\\.0\\.1:${port}: cannot read orders`,
      ),
    );
  });

  it('exits 1 naming etcd when nothing listens at its URL', async () => {
    const port = await closedPort();
    const { code, stderr } = await run({ config: configWith(['backend: etcd', `url: http://127.0.0.1:${port}`]) });
    assert.equal(code, 1);
    assert.match(
      stderr,
      new RegExp(`SY_CLI_REGISTRY_UNREACHABLE: etcd http://127\\.0\\.0\\.1:${port} \\(prefix /switchyard/services/\\)`),
    );
  });

  it('exits 1 when the registry does not answer within --timeout', async () => {
    // Accepts connections and never answers.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const { code, stderr } = await run({ config: configWith([`port: ${port}`]), timeout: '300ms' });
      assert.equal(code, 1);
      assert.match(stderr, /SY_CLI_REGISTRY_UNREACHABLE: embedded registry .*: no answer about orders within 300ms/);
    } finally {
      await new Promise<void>((resolve) => {
        silent.close(() => resolve());
        // The client's sockets stay open until closed here.
        for (const socket of sockets) socket.destroy();
      });
    }
  });

  it('exits 2 for a bad registry section, naming the field', async () => {
    const { code, stderr } = await run({ config: configWith(['backend: zookeeper']) });
    assert.equal(code, 2);
    assert.match(stderr, /registry\.backend: expected backend to be one of "embedded", "consul", "etcd", "kubernetes"/);
  });

  it('exits 2 for a missing config file and a bad --registry URL', async () => {
    assert.equal((await run({ config: join(dir, 'none.yaml') })).code, 2);
    const bad = await run({ config: configWith(['port: 8500']), registry: 'redis://127.0.0.1:6379' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--registry: unsupported registry URL/);
  });
});
