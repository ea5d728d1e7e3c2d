import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';

const bin = join(import.meta.dirname, 'bin.ts');

const adminToken = 'adm-tok-3f9e2c71b0d84a65';
const tenantSecret = 'tenant-from-file-8c1d77e2';
const portSecret = 'port-secret-51aa09fe';
const secrets = [adminToken, tenantSecret, portSecret];

interface Run {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  /** Resolves when the output matches `pattern`; fails after 10 s. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
}

function run(t: TestContext, args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--conditions=@switchyard/source', bin, ...args], {
    env: { ...process.env, SWITCHYARD_REGISTRY_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let raw = '';
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    raw += chunk.toString();
    for (const notify of waiters) notify();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    exited,
    output: () => raw,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = raw.match(pattern);
          if (match === null) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(match);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} within 10 s; output:\n${raw}`));
        }, 10_000);
        waiters.add(check);
        check();
      });
    },
  };
}

function assertNoSecret(text: string, where: string): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `${where} shows a secret:\n${text}`);
}

function workDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-secrets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A secret file as `echo` writes it: the trailing newline is not part of the value.
  writeFileSync(join(dir, 'tenant.txt'), `${tenantSecret}\n`);
  return dir;
}

const goodConfig = `version: 1
gateway:
  port: 0
  admin:
    port: 0
    auth:
      tokens:
        - token: \${env:ADMIN_TOKEN}
          scope: write
  routes:
    - path: /api
      upstreams: ['http://127.0.0.1:9']
      headers:
        x-tenant: \${file:tenant.txt}
`;

describe('secrets in switchyard.yaml', () => {
  it('validate accepts ${env:...} and ${file:...} and prints neither value', async (t) => {
    const dir = workDir(t);
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, goodConfig);
    const validate = run(t, ['validate', '-c', file], { ADMIN_TOKEN: adminToken });
    assert.equal(await validate.exited, 0, validate.output());
    assert.match(validate.output(), /valid/);
    assertNoSecret(validate.output(), 'validate');
  });

  it('validate redacts a secret that a schema error would quote', async (t) => {
    const dir = workDir(t);
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, goodConfig.replace('  port: 0\n', '  port: ${env:PORT_SECRET}\n'));
    const validate = run(t, ['validate', '-c', file], { ADMIN_TOKEN: adminToken, PORT_SECRET: portSecret });
    assert.equal(await validate.exited, 2, validate.output());
    assert.match(validate.output(), /gateway\.port: expected number, got string "\[redacted\]"/);
    assertNoSecret(validate.output(), 'validate');
  });

  it('names the file and the config field when a ${file:...} cannot be read', async (t) => {
    const dir = workDir(t);
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, goodConfig.replace('${file:tenant.txt}', '${file:nope/tenant.txt}'));
    const validate = run(t, ['validate', '-c', file], { ADMIN_TOKEN: adminToken });
    assert.equal(await validate.exited, 2, validate.output());
    const out = validate.output();
    assert.match(out, /SY_CLI_SECRET_FILE_UNREADABLE/);
    assert.match(
      out,
      /switchyard\.yaml:\d+:\d+ gateway\.routes\[0\]\.headers\.x-tenant: cannot read \$\{file:nope\/tenant\.txt\}/,
    );
    assert.ok(out.includes(join(dir, 'nope', 'tenant.txt')), out);
  });

  it('says which ${env:...} is unset', async (t) => {
    const dir = workDir(t);
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, goodConfig);
    const validate = run(t, ['validate', '-c', file], { ADMIN_TOKEN: '' });
    assert.equal(await validate.exited, 2);
    assert.match(validate.output(), /SY_CLI_ENV_MISSING.*\n?.*\$\{env:ADMIN_TOKEN\} is not set/);
  });

  it('a running gateway keeps them out of its logs, its admin API and a refused reload', async (t) => {
    const dir = workDir(t);
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, goodConfig);
    const gateway = run(t, ['gateway', '-c', file], { ADMIN_TOKEN: adminToken, PORT_SECRET: portSecret });
    const [, admin] = await gateway.waitFor(/"admin":"(http:\/\/[^"]+)"/);
    assert.ok(admin);
    assert.equal((await fetch(`${admin}/admin/config`)).status, 401);
    const config = await fetch(`${admin}/admin/config`, { headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(config.status, 200);
    const body = await config.text();
    assert.match(body, /\[redacted\]/);
    assertNoSecret(body, '/admin/config');

    // A broken config whose error quotes a secret: the reload is refused and logged, redacted.
    writeFileSync(file, goodConfig.replace('  port: 0\n', '  port: ${env:PORT_SECRET}\n'));
    gateway.child.kill('SIGHUP');
    await gateway.waitFor(/config reload refused/);
    gateway.child.kill('SIGTERM');
    assert.equal(await gateway.exited, 0, gateway.output());
    assert.match(gateway.output(), /\[redacted\]/);
    assertNoSecret(gateway.output(), 'gateway logs');
  });
});
