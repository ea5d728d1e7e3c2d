/** `switchyard routes`: the gateway routes of a config, as a table and as JSON, through the real CLI. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runRoutes } from './routes-command.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-routes-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(import.meta.dirname, 'bin.ts');

const good = join(dir, 'switchyard.yaml');
writeFileSync(
  good,
  [
    'version: 1',
    'gateway:',
    '  timeout: 20s',
    '  middleware: [{ cors: { origins: ["https://shop.example"] } }]',
    '  routes:',
    '    - path: /api/orders',
    '      service: orders',
    '      methods: [GET, POST]',
    '      timeout: 5s',
    '      retry: { attempts: 3, statuses: [503] }',
    '      middleware: [{ bodyLimit: 1mb }]',
    '    - path: /legacy',
    '      hosts: [legacy.example]',
    '      upstreams: ["http://127.0.0.1:3001", "http://127.0.0.1:3002"]',
    '      retry: false',
  ].join('\n'),
);
const bad = join(dir, 'bad.yaml');
writeFileSync(bad, 'version: 1\ngateway:\n  routes:\n    - path: /x\n      servce: orders\n');

const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('switchyard routes', () => {
  it('--json lists every route with target, timeout, retry and middleware', () => {
    const result = cli('routes', '-c', good, '--json');
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), [
      {
        path: '/api/orders',
        match: 'prefix',
        methods: ['GET', 'POST'],
        target: { kind: 'service', service: 'orders' },
        timeoutMs: 5000,
        retry: { attempts: 3, statuses: [503] },
        middleware: { gateway: ['cors'], route: ['bodyLimit'] },
      },
      {
        path: '/legacy',
        match: 'prefix',
        hosts: ['legacy.example'],
        target: { kind: 'upstreams', upstreams: ['http://127.0.0.1:3001', 'http://127.0.0.1:3002'] },
        timeoutMs: 20_000,
        retry: 'off',
        middleware: { gateway: ['cors'], route: [] },
      },
    ]);
  });

  it('prints an aligned table', () => {
    let out = '';
    assert.equal(runRoutes({ config: good, write: (text) => (out += text) }), 0);
    assert.equal(
      out,
      [
        'PATH         METHODS   HOSTS           TARGET                                        TIMEOUT  RETRY              MIDDLEWARE',
        '/api/orders  GET,POST  *               service orders                                5s       3 attempts on 503  cors, bodyLimit',
        '/legacy      *         legacy.example  http://127.0.0.1:3001, http://127.0.0.1:3002  20s      off                cors',
        '',
      ].join('\n'),
    );
  });

  it('exits 2 on a bad or missing config, naming the problem', () => {
    const result = cli('routes', '-c', bad, '--json');
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /SY_CONFIG_INVALID/);
    assert.match(result.stderr, /bad\.yaml:5:7 gateway\.routes\[0\]\.servce: unknown field/);
    assert.equal(cli('routes', '-c', join(dir, 'none.yaml')).status, 2);
  });

  it('--help documents the exit codes', () => {
    const result = cli('routes', '--help');
    assert.equal(result.status, 0);
    assert.match(result.stdout, /--json/);
    assert.match(result.stdout, /Exit codes: 0 printed, 2 config missing or invalid/);
  });
});
