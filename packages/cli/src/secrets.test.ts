import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectSecretFields, isSecretField, redactSecrets } from './secrets.ts';

describe('secrets', () => {
  it('knows secret field names, and that a bare key is not one', () => {
    for (const name of [
      'token',
      'adminToken',
      'secret',
      'clientSecret',
      'password',
      'passwd',
      'authorization',
      'apiKey',
      'api_key',
      'privateKey',
      'credentials',
    ]) {
      assert.equal(isSecretField(name), true, name);
    }
    for (const name of ['key', 'host', 'keys', 'name', 'scope']) assert.equal(isSecretField(name), false, name);
  });

  it('collects every string under a secret field', () => {
    const found = new Set<string>();
    collectSecretFields(
      {
        gateway: { admin: { auth: { tokens: [{ token: 'tok-aaaaaaaa', scope: 'read' }] } } },
        db: { password: 'pw-bbbb' },
        port: 1,
      },
      found,
    );
    assert.deepEqual([...found].sort(), ['pw-bbbb', 'tok-aaaaaaaa']);
  });

  it('masks secrets, longest first and JSON-escaped, but not tiny values', () => {
    const secrets = new Set(['abcd', 'abcdefgh', 'q"uote', 'on']);
    assert.equal(redactSecrets('x abcdefgh y abcd', secrets), 'x [redacted] y [redacted]');
    assert.equal(redactSecrets(JSON.stringify({ v: 'q"uote' }), secrets), '{"v":"[redacted]"}');
    assert.equal(redactSecrets('turn on', secrets), 'turn on');
  });
});
