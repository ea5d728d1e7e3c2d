/**
 * `switchyard up`'s supervision with the real registry, gateway and fixture services: start
 * order by `dependsOn`, a SIGKILLed instance restarted and served again, and JSON log lines
 * from the CLI when stdout is not a terminal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from './load-config.ts';
import { startSystem } from './system.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-supervise-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fixture = join(import.meta.dirname, 'testing', 'fixture-service.ts');
const bin = join(import.meta.dirname, 'bin.ts');

function config(name: string, services: string[]) {
  const yaml = [
    'version: 1',
    `name: ${name}`,
    `dataDir: ${JSON.stringify(join(dir, name, 'data'))}`,
    'startupTimeout: 10s',
    'shutdownTimeout: 3s',
    'registry: { port: 0 }',
    'admin: false',
    'gateway: { port: 0, routes: [{ path: /api, service: api }] }',
    'services:',
    ...services.map((line) => `  ${line}`),
  ].join('\n');
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, yaml);
  return { path, loaded: { ...parseConfig(yaml, path, {}), path, baseDir: dir } };
}

const starts = (log: string) =>
  readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.includes(' start '))
    .map((line) => {
      const [id, , at] = line.split(' ');
      return { id, at: Number(at) };
    });

async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('switchyard up: supervision', () => {
  it('starts a slow dependency first and its dependents once it is healthy; restarts a SIGKILLed instance', async (t) => {
    const log = join(dir, 'order.log');
    const env = (extra: string) => `env: { FIXTURE_LOG: ${JSON.stringify(log)}${extra} }`;
    const { loaded } = config('order', [
      // Listed first, depends on db, which takes 600ms to turn healthy.
      `api: { command: [node, ${JSON.stringify(fixture)}], dependsOn: [db], replicas: 2, ${env('')}, restart: { backoff: { initial: 100ms } } }`,
      `db: { command: [node, ${JSON.stringify(fixture)}], ${env(', FIXTURE_DELAY_MS: "600"')} }`,
    ]);
    let output = '';
    const system = await startSystem(loaded, { write: (text) => (output += text), colour: false });
    t.after(() => system.stop());

    const [db, ...apis] = starts(log);
    assert.equal(db?.id, 'db-1', output);
    assert.deepEqual(apis.map((s) => s.id).sort(), ['api-1', 'api-2']);
    for (const api of apis)
      assert.ok(api.at - (db?.at ?? 0) >= 550, `api started ${api.at - (db?.at ?? 0)}ms after db`);
    assert.match(output, /switchyard: api waits for db\n/);
    assert.match(output, /switchyard: db-1 is healthy \(1\/3\)/);
    // The table has pid and restart columns.
    assert.match(output, /INSTANCE +URL +STATUS +PID +RESTARTS/);
    assert.match(output, /api-1 +http:\/\/127\.0\.0\.1:\d+ +passing +\d+ +0/);

    const before = system.instanceStates().find((s) => s.id === 'api-1');
    assert.equal(before?.state, 'running');
    process.kill(before?.pid as number, 'SIGKILL');
    const after = await eventually('api-1 running again', () => {
      const state = system.instanceStates().find((s) => s.id === 'api-1');
      return state?.state === 'running' && state.pid !== before?.pid ? state : undefined;
    });
    assert.equal(after.restarts, 1);
    assert.deepEqual([after.lastExit?.code, after.lastExit?.signal], [null, 'SIGKILL']);
    assert.match(output, /api-1 exited \(signal SIGKILL\); restarting in 100ms \(restart 1\)/);
    // The gateway reaches the restarted process (round robin over both instances).
    const pids = new Set<string>();
    for (let i = 0; i < 4; i++) pids.add(await (await fetch(`${system.gatewayUrl}/api/pid`)).text());
    assert.ok(pids.has(String(after.pid)), `gateway answered from ${[...pids].join(', ')}`);
    assert.equal(system.instances.find((i) => i.spec.id === 'api-1')?.pid, after.pid);
  });

  it('switchyard up without a terminal: every line is one JSON object, child JSON nested as-is', async (t) => {
    const ready = join(dir, 'json-ready.json');
    const { path } = config('json', [
      `api: { command: [node, ${JSON.stringify(fixture)}], env: { FIXTURE_JSON_LINE: '{"level":40,"msg":"cache cold"}' } }`,
    ]);
    const child = spawn(process.execPath, [bin, 'up', '-c', path, '--ready-file', ready], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.after(() => child.kill('SIGKILL'));

    await eventually('ready file', () => existsSync(ready) || child.exitCode !== null, 15_000);
    assert.equal(child.exitCode, null, `${stdout}${stderr}`);
    await eventually('the JSON line', () => stdout.includes('cache cold'));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `${stdout}${stderr}`);

    const lines = stdout.trimEnd().split('\n');
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const entry of parsed) {
      assert.equal(typeof entry.time, 'string');
      assert.ok(['info', 'warn', 'error'].includes(entry.level as string), JSON.stringify(entry));
      assert.ok(['stdout', 'stderr', 'supervisor'].includes(entry.stream as string), JSON.stringify(entry));
    }
    const nested = parsed.find((e) => typeof e.msg === 'object');
    assert.deepEqual(nested, {
      time: nested?.time,
      level: 'warn',
      service: 'api',
      instance: 'api-1',
      stream: 'stdout',
      msg: { level: 40, msg: 'cache cold' },
    });
    assert.ok(parsed.some((e) => e.stream === 'stdout' && /api-1 listening on \d+/.test(String(e.msg))));
    assert.ok(parsed.some((e) => e.stream === 'supervisor' && /is up in/.test(String(e.msg))));
    assert.equal(parsed.at(-1)?.msg, 'stopped');
  });
});
