import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { substituteEnv } from './env-substitution.ts';

describe('substituteEnv', () => {
  it('replaces set variables, applies defaults and unescapes $$', () => {
    const { value, missing } = substituteEnv('${A}-${B:-two}-$${A}-${C:-}', { A: 'one' });
    assert.equal(value, 'one-two-${A}-');
    assert.deepEqual(missing, []);
  });

  it('treats an empty variable as unset, as a shell does with :-', () => {
    assert.equal(substituteEnv('${A:-fallback}', { A: '' }).value, 'fallback');
  });

  it('reports unset variables with their offset', () => {
    assert.deepEqual(substituteEnv('x ${NOPE} y', {}).missing, [{ name: 'NOPE', offset: 2 }]);
  });

  it('leaves text without references alone', () => {
    assert.equal(substituteEnv('price: $5 {A}', {}).value, 'price: $5 {A}');
  });
});

describe('substituteEnv with secret references', () => {
  it('reads ${env:NAME} and reports the value as a secret', () => {
    const result = substituteEnv('Bearer ${env:TOKEN}', { TOKEN: 'tok-123456' });
    assert.equal(result.value, 'Bearer tok-123456');
    assert.deepEqual(result.secrets, ['tok-123456']);
  });

  it('reports an unset or empty ${env:NAME} as missing: a secret takes no default', () => {
    assert.deepEqual(substituteEnv('${env:NOPE}', {}).missing, [{ name: 'NOPE', offset: 0, kind: 'env' }]);
    assert.equal(substituteEnv('${env:EMPTY}', { EMPTY: '' }).missing.length, 1);
  });

  it('reads ${file:path} relative to baseDir, one trailing newline removed', () => {
    const read: string[] = [];
    const result = substituteEnv(
      '${file:secrets/db}',
      {},
      {
        baseDir: '/etc/app',
        readFile: (path) => {
          read.push(path);
          return 'pw-line\n\n';
        },
      },
    );
    assert.deepEqual(read, ['/etc/app/secrets/db']);
    assert.equal(result.value, 'pw-line\n');
    assert.deepEqual(result.secrets, ['pw-line\n']);
    assert.equal(substituteEnv('${file:/abs/x}', {}, { readFile: () => 'v\r\n' }).value, 'v');
  });

  it('reports an unreadable file with the path tried, not throwing', () => {
    const result = substituteEnv(
      '${file:missing}',
      {},
      {
        baseDir: '/cfg',
        readFile: () => {
          throw new Error("ENOENT: no such file or directory, open '/cfg/missing'");
        },
      },
    );
    assert.equal(result.value, '');
    assert.deepEqual(result.unreadable, [
      { reference: 'missing', path: '/cfg/missing', reason: "ENOENT: no such file or directory, open '/cfg/missing'" },
    ]);
  });

  it('keeps ${NAME} values out of the secrets', () => {
    assert.deepEqual(substituteEnv('${A}', { A: 'plain' }).secrets, []);
  });
});
