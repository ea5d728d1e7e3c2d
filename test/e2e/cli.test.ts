import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { alive, eventually, readJsonWhenPresent, root, runCli } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const helloService = `${root}packages/service/examples/hello.ts`;

describe('switchyard validate', () => {
  it('exits 0 and summarises a valid config', async () => {
    const cli = runCli(['validate', '-c', `${root}examples/shop/switchyard.yaml`]);
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    assert.match(cli.output(), /valid \(3 services, 3 routes\)/);
  });

  it('exits 2 and prints every problem with file:line:column and path', async () => {
    const path = config(
      'bad.yaml',
      'version: 1\ngateway:\n  routes:\n    - path: /a\n      servce: a\nservices:\n  a:\n    replicas: 0\n',
    );
    const cli = runCli(['validate', '-c', path]);
    assert.deepEqual(await cli.exited, { code: 2, signal: null });
    const out = cli.output();
    assert.match(out, /SY_CONFIG_INVALID/);
    assert.match(out, /bad\.yaml:5:7 gateway\.routes\[0\]\.servce: unknown field \(did you mean "service"\?\)/);
    assert.match(out, /bad\.yaml:4:7 gateway\.routes\[0\]\.service: required/);
    assert.match(out, /bad\.yaml:8:5 services\.a\.command: required/);
    assert.match(out, /bad\.yaml:8:15 services\.a\.replicas:/);
  });

  it('exits 2 for a missing file, naming it', async () => {
    const cli = runCli(['validate', '-c', join(dir, 'nope.yaml')]);
    assert.deepEqual(await cli.exited, { code: 2, signal: null });
    assert.match(cli.output(), /SY_CLI_CONFIG_NOT_FOUND: cannot read config file .*nope\.yaml/);
  });
});

describe('switchyard up failures', () => {
  it('fails start-up when an instance exits, shows its output, and stops the others', async () => {
    const path = config(
      'crash.yaml',
      [
        'version: 1',
        'registry: { port: 0 }',
        'admin: { port: 0 }',
        'gateway: { port: 0, routes: [{ path: /hello, service: hello }] }',
        'services:',
        `  hello: { command: [node, ${JSON.stringify(helloService)}] }`,
        '  broken: { command: [node, -e, "console.error(\'missing DATABASE_URL\'); process.exit(3)"] }',
      ].join('\n'),
    );
    const cli = runCli(['up', '-c', path]);
    const exit = await cli.exited;
    const out = cli.output();
    assert.deepEqual(exit, { code: 1, signal: null }, out);
    assert.match(out, /SY_CLI_SERVICE_FAILED: broken-1 exited during start-up \(code 3\)/);
    assert.match(out, /missing DATABASE_URL/);
    const pid = Number(/started hello-1 \(pid (\d+)\)/.exec(out)?.[1]);
    assert.ok(pid > 0, out);
    assert.equal(alive(pid), false, 'hello-1 was stopped');
  });

  it('leaves no orphan when the supervisor itself is killed', async () => {
    const readyFile = join(dir, 'ready-kill.json');
    const path = config(
      'kill.yaml',
      [
        'version: 1',
        'registry: { port: 0 }',
        'admin: { port: 0 }',
        'gateway: { port: 0, routes: [{ path: /hello, service: hello }] }',
        'services:',
        `  hello: { command: [node, ${JSON.stringify(helloService)}], replicas: 2 }`,
      ].join('\n'),
    );
    const cli = runCli(['up', '-c', path, '--ready-file', readyFile]);
    const ready = await eventually('ready', () => {
      if (cli.child.exitCode !== null) throw new Error(cli.output());
      return readJsonWhenPresent<{ instances: Array<{ pid: number }> }>(readyFile);
    });
    const pids = ready.instances.map((i) => i.pid);
    assert.equal(pids.length, 2);
    cli.child.kill('SIGKILL');
    await cli.exited;
    await eventually(
      'every instance to exit after its supervisor died',
      () => pids.every((pid) => !alive(pid)),
      10_000,
    );
  });
});
