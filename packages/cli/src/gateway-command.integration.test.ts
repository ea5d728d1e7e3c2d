import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { createRegistry, createRegistryServer } from '@switchyard/discovery';

const bin = join(import.meta.dirname, 'bin.ts');

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A `switchyard gateway` child with its parsed stdout lines. */
interface GatewayProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  readonly exited: Promise<number | null>;
  /** Resolves with the first line (from index `from`) matching `predicate`; fails after 10 s. */
  waitFor(predicate: (line: LogLine) => boolean, from?: number): Promise<LogLine>;
  output(): string;
}

function runGatewayCommand(t: TestContext, file: string, env: Record<string, string> = {}): GatewayProcess {
  const child = spawn(process.execPath, ['--conditions=@switchyard/source', bin, 'gateway', '-c', file], {
    env: { ...process.env, SWITCHYARD_REGISTRY_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let raw = '';
  let buffered = '';
  const waiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    raw += chunk;
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      lines.push(JSON.parse(buffered.slice(0, newline)) as LogLine);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
    for (const notify of waiters) notify();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    raw += chunk.toString();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    lines,
    exited,
    output: () => raw,
    waitFor(predicate, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.slice(from).find(predicate);
          if (found === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching log line within 10 s; output:\n${raw}`));
        }, 10_000);
        waiters.add(check);
        check();
      });
    },
  };
}

async function startUpstream(t: TestContext, body: string): Promise<number> {
  const server: Server = createServer((_req, res) => res.end(body));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

function tempConfig(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-gateway-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'gateway.yaml');
}

const configFor = (upstreamPort: number, extra = '') => `version: 1
gateway:
  port: 0
  admin:
    port: 0
  routes:
    - path: /api
      upstreams: ['http://127.0.0.1:${upstreamPort}']
${extra}`;

async function text(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return response.text();
}

describe('switchyard gateway', () => {
  it('serves the file, swaps it on SIGHUP, keeps it when the new one is invalid, stops on SIGTERM', async (t) => {
    const first = await startUpstream(t, 'first');
    const second = await startUpstream(t, 'second');
    const file = tempConfig(t);
    writeFileSync(file, configFor(first));
    const gateway = runGatewayCommand(t, file);

    const listening = await gateway.waitFor((l) => l.msg === 'gateway listening');
    assert.equal(listening.level, 30);
    assert.equal(typeof listening.time, 'number');
    const url = String(listening.url);
    const admin = String(listening.admin);
    assert.equal(await text(`${url}/api/x`), 'first');
    assert.equal((await fetch(`${admin}/readyz`)).status, 200);

    let mark = gateway.lines.length;
    writeFileSync(file, configFor(second, "    - path: /added\n      upstreams: ['http://127.0.0.1:1']\n"));
    gateway.child.kill('SIGHUP');
    const reloaded = await gateway.waitFor((l) => l.msg === 'gateway config reloaded', mark);
    assert.equal(reloaded.configVersion, 2);
    assert.equal(await text(`${url}/api/x`), 'second');
    const routes = (await (await fetch(`${admin}/admin/routes`)).json()) as { routes: Array<{ path: string }> };
    assert.deepEqual(
      routes.routes.map((r) => r.path),
      ['/api', '/added'],
    );

    mark = gateway.lines.length;
    writeFileSync(
      file,
      `version: 1\ngateway:\n  port: 0\n  admin:\n    port: 0\n  routes:\n    - path: /api\n      timeout: soon\n    - path: /b\n      upstreams: ['ftp://x']\n`,
    );
    gateway.child.kill('SIGHUP');
    const refused = await gateway.waitFor((l) => l.msg.startsWith('config reload refused'), mark);
    assert.equal(refused.level, 50);
    assert.match(refused.msg, /still serving config version 2/);
    const paths = (refused.issues as Array<{ path: string }>).map((i) => i.path).join('\n');
    assert.match(paths, /gateway\.routes\[0\]\.timeout/);
    assert.match(paths, /gateway\.routes\[0\]\.service/);
    assert.match(paths, /gateway\.routes\[1\]\.upstreams\[0\]/);
    assert.equal(await text(`${url}/api/x`), 'second', 'the old config is still served');

    gateway.child.kill('SIGTERM');
    assert.equal(await gateway.exited, 0);
    assert.ok(gateway.lines.some((l) => l.msg === 'gateway closed'));
  });

  it('refuses to start when service routes have no registry to resolve them', async (t) => {
    const file = tempConfig(t);
    writeFileSync(file, 'version: 1\ngateway:\n  port: 0\n  routes:\n    - path: /api/orders\n      service: orders\n');
    const gateway = runGatewayCommand(t, file);
    assert.equal(await gateway.exited, 2);
    const line = await gateway.waitFor((l) => l.level === 50);
    assert.match(String(line.error), /gateway\.routes\[0\]\.service: routes to a registry service, but no registry/);
    assert.match(String(line.error), /--registry/);
  });

  it('resolves service routes through the registry named by SWITCHYARD_REGISTRY_URL, admin API on by default', async (t) => {
    const upstream = await startUpstream(t, 'from-registry');
    const registry = createRegistry();
    t.after(() => registry.close());
    const server = await createRegistryServer({ registry, host: '127.0.0.1', port: 0 });
    t.after(() => server.close());
    registry.register({ ID: 'orders-1', Name: 'orders', Address: '127.0.0.1', Port: upstream });
    const file = tempConfig(t);
    writeFileSync(file, 'version: 1\ngateway:\n  port: 0\n  routes:\n    - path: /api/orders\n      service: orders\n');
    const gateway = runGatewayCommand(t, file, { SWITCHYARD_REGISTRY_URL: server.url });
    const listening = await gateway.waitFor((l) => l.msg === 'gateway listening');
    assert.equal(listening.admin, 'http://127.0.0.1:9901', 'the admin API is on by default');
    assert.equal(await text(`${String(listening.url)}/api/orders/1`), 'from-registry');
    gateway.child.kill('SIGINT');
    assert.equal(await gateway.exited, 0);
  });
});
