import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { fixture, startFakeApiServer } from './internal/fake-api-server.ts';

const run = promisify(execFile);
const example = new URL('../examples/list-service.ts', import.meta.url);
const readme = new URL('../README.md', import.meta.url);

it('examples/list-service.ts is quoted in the README verbatim and prints what it says, against the recorded API', async (t) => {
  const source = readFileSync(example, 'utf8').trim();
  const text = readFileSync(readme, 'utf8');
  assert.ok(text.includes(source), 'README.md does not quote examples/list-service.ts verbatim');

  const api = await startFakeApiServer();
  const dir = mkdtempSync(join(tmpdir(), 'sy-k8s-example-'));
  t.after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });
  api.onList({ status: 200, body: fixture('list-orders.json') });
  const kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, api.kubeConfig.exportConfig());

  // NODE_OPTIONS (--conditions=@switchyard/source, from scripts/test.ts) is inherited.
  const { stdout } = await run(process.execPath, [example.pathname], {
    timeout: 20_000,
    env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir },
  });
  const expected = /It prints:\n\n```\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(expected !== undefined, 'README.md has no "It prints:" block');
  assert.equal(stdout, expected);
});
