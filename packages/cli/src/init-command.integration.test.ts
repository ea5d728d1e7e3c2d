/**
 * `switchyard init`: scaffolds a service, then runs the generated test with node. The target
 * lies inside this package so that `@switchyard/service` and `@switchyard/discovery` resolve
 * from the workspace, as they would from npm in a user's project.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { runInit, scaffoldService } from './init-command.ts';

const workspace = mkdtempSync(join(import.meta.dirname, '..', '.init-test-'));
after(() => rmSync(workspace, { recursive: true, force: true }));
const bin = join(import.meta.dirname, 'bin.ts');

describe('switchyard init', () => {
  it('scaffolds a service whose generated test registers it with an embedded registry and passes', () => {
    const result = spawnSync(process.execPath, [bin, 'init', 'billing', '--dir', 'services/billing'], {
      cwd: workspace,
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.status, 0, result.stderr);
    const dir = join(workspace, 'services', 'billing');
    assert.deepEqual(readdirSync(dir).sort(), ['README.md', 'package.json', 'src']);
    assert.deepEqual(readdirSync(join(dir, 'src')).sort(), ['main.test.ts', 'main.ts']);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    assert.equal(pkg.name, 'billing');
    assert.equal(pkg.type, 'module');
    assert.ok(pkg.dependencies['@switchyard/service']);
    // The services: entry is printed and in the README, with cwd relative to where init ran.
    for (const text of [result.stdout, readFileSync(join(dir, 'README.md'), 'utf8')]) {
      assert.match(text, /services:\n {2}billing:\n {4}command: node src\/main\.ts\n {4}cwd: \.\/services\/billing/);
    }

    // Without NODE_TEST_CONTEXT the nested run reports as a top-level one (TAP on stdout).
    const { NODE_TEST_CONTEXT: _nested, ...env } = process.env;
    const test = spawnSync(
      process.execPath,
      ['--conditions=@switchyard/source', '--test', '--test-reporter=tap', 'src/main.test.ts'],
      { cwd: dir, encoding: 'utf8', timeout: 30_000, env },
    );
    assert.equal(test.status, 0, `${test.stdout}\n${test.stderr}`);
    assert.match(test.stdout, /# pass 1/);
    assert.match(test.stdout, /# fail 0/);
  });

  it('refuses a non-empty directory (exit 2, nothing written) and accepts an empty one', () => {
    const taken = join(workspace, 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'notes.txt'), 'mine');
    let err = '';
    assert.equal(runInit({ name: 'taken', cwd: workspace, writeError: (text) => (err += text) }), 2);
    assert.match(err, /SY_CLI_INIT_TARGET_EXISTS: .*taken is not empty; refusing to overwrite it/);
    assert.deepEqual(readdirSync(taken), ['notes.txt']);

    const empty = join(workspace, 'empty');
    mkdirSync(empty);
    assert.equal(runInit({ name: 'empty', cwd: workspace, write: () => {} }), 0);
    assert.ok(readdirSync(empty).includes('package.json'));
  });

  it('rejects a name that is not a service name', () => {
    assert.throws(
      () => scaffoldService({ name: '-bad name', cwd: workspace }),
      (e) => isSwitchyardError(e, 'SY_CONFIG_INVALID') && /name: "-bad name" is not a service name/.test(e.message),
    );
  });
});
