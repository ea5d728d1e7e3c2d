import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { redactSecretValues } from '@switchyard/gateway';
import { loadConfigFile, parseConfig } from './load-config.ts';

const token = 'admin-token-1c9f4e2ab7d3';

function rejected(text: string, env: Record<string, string> = {}): Error & { code?: string } {
  try {
    parseConfig(text, '/x/switchyard.yaml', env, '/x');
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected the config to be rejected');
}

describe('parseConfig with secrets', () => {
  it('substitutes ${env:...} and ${file:...} relative to the config file, as strings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-cfg-'));
    try {
      writeFileSync(join(dir, 'tenant'), '0042\n');
      const file = join(dir, 'switchyard.yaml');
      writeFileSync(
        file,
        `version: 1
gateway:
  admin:
    port: 0
    auth:
      tokens:
        - token: \${env:ADMIN_TOKEN}
          scope: read
  routes:
    - path: /api
      upstreams: ['http://127.0.0.1:9']
      headers:
        x-tenant: \${file:tenant}
`,
      );
      const loaded = loadConfigFile(file, { ADMIN_TOKEN: token });
      assert.equal(loaded.config.gateway.admin?.auth?.tokens[0]?.token, token);
      // The file's value stays the string "0042", not the number 42.
      assert.deepEqual(loaded.config.gateway.routes[0]?.headers, { 'x-tenant': '0042' });
      assert.deepEqual([...loaded.secrets].sort(), ['0042', token]);
      // Declared process-wide, so logs and the admin API mask them.
      assert.equal(redactSecretValues(`token ${token}`), 'token [redacted]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('treats values of secret-named fields as secrets even without ${env:...}', () => {
    const { secrets } = parseConfig(
      `version: 1
gateway:
  admin: { port: 0, auth: { tokens: [{ token: literal-token-123456789, scope: write }] } }
  routes: []
`,
      'switchyard.yaml',
      {},
    );
    assert.deepEqual([...secrets], ['literal-token-123456789']);
  });

  it('redacts a secret a schema error would quote', () => {
    const err = rejected('version: 1\ngateway:\n  port: ${env:PORT}\n  routes: []\n', { PORT: 'secret-port-value' });
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
    assert.match(err.message, /gateway\.port: expected number, got string "\[redacted\]"/);
    assert.ok(!err.message.includes('secret-port-value'));
    assert.ok(!JSON.stringify(err.details).includes('secret-port-value'));
  });

  it('names the config field and the path of an unreadable ${file:...}', () => {
    const err = rejected(
      'version: 1\ngateway:\n  routes: []\n  admin:\n    auth:\n      tokens:\n        - token: ${file:missing-token}\n          scope: read\n',
    );
    assert.ok(isSwitchyardError(err, 'SY_CLI_SECRET_FILE_UNREADABLE'));
    assert.match(
      err.message,
      /^switchyard\.yaml:7:18 gateway\.admin\.auth\.tokens\[0\]\.token: cannot read \$\{file:missing-token\}: ENOENT.*\/x\/missing-token/,
    );
  });

  it('requires admin.auth and gateway.admin.auth off loopback, and registry.acl', () => {
    const err = rejected(`version: 1
admin: { host: 0.0.0.0 }
registry: { host: 0.0.0.0 }
gateway:
  admin: { host: 10.0.0.5 }
  routes: []
`);
    assert.match(err.message, /admin\.auth: required when the system admin API listens on 0\.0\.0\.0/);
    assert.match(err.message, /gateway\.admin\.auth: required when the admin API listens on 10\.0\.0\.5/);
    assert.match(err.message, /registry\.acl: required when the registry API listens on 0\.0\.0\.0/);
  });

  it('accepts admin.auth and registry.acl from the environment', () => {
    const { config } = parseConfig(
      `version: 1
admin: { host: 0.0.0.0, auth: { tokens: [{ token: '\${env:ADMIN_TOKEN}', scope: write }] } }
registry: { host: 0.0.0.0, acl: { tokens: [{ token: '\${env:ADMIN_TOKEN}', policy: write }], anonymous: read } }
gateway:
  routes: []
`,
      'switchyard.yaml',
      { ADMIN_TOKEN: token },
    );
    assert.equal(config.admin === false ? undefined : config.admin.auth?.tokens[0]?.scope, 'write');
    assert.equal(config.registry.backend === 'embedded' ? config.registry.acl?.anonymous : undefined, 'read');
  });
});
