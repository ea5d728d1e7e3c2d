import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';

describe('README: mTLS', () => {
  it('runs examples/mtls.ts: the gateway identity calls orders over mutual TLS', async () => {
    const example = new URL('../examples/mtls.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, [example], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    assert.equal(code, 0, err);
    assert.equal(out, '200 hello spiffe://shop.local/ns/default/sa/gateway\n\n');
  });
});
