import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SwitchyardError } from '@switchyard/core';
import { parseConfig } from './load-config.ts';

const valid = `version: 1
name: shop
gateway:
  port: 0
  routes:
    - path: /api/orders
      service: orders
      timeout: 5s
services:
  orders:
    command: node src/orders/main.ts
    replicas: 2
`;

function failure(text: string, env: Record<string, string> = {}): SwitchyardError {
  try {
    parseConfig(text, '/x/switchyard.yaml', env);
  } catch (err) {
    return err as SwitchyardError;
  }
  assert.fail('expected the config to be rejected');
}

describe('parseConfig', () => {
  it('accepts a valid config and applies defaults', () => {
    const { config, warnings } = parseConfig(valid, 'switchyard.yaml', {});
    assert.deepEqual(warnings, []);
    assert.equal(config.gateway.port, 0);
    assert.equal(config.gateway.routes[0]?.timeout, 5000);
    assert.deepEqual(config.registry, { backend: 'embedded', host: '127.0.0.1', port: 8500 });
    assert.equal(config.services.orders?.replicas, 2);
    assert.equal(config.startupTimeout, 30_000);
    assert.ok(Object.isFrozen(config.services.orders));
  });

  it('rejects an incomplete config, naming each missing field with its position', () => {
    const err = failure('version: 1\ngateway:\n  routes:\n    - path: /api/orders\n');
    assert.equal(err.code, 'SY_CONFIG_INVALID');
    assert.match(err.message, /switchyard\.yaml:4:7 gateway\.routes\[0\]\.service: required/);
  });

  it('reports every problem at once, by path and line:column', () => {
    const err = failure(`version: 1
gateway:
  port: eighty
  routes:
    - path: /a
      service: a
      timout: 5s
services:
  a:
    command: []
    replicas: 0
`);
    const issues = (err.details.issues as Array<{ path: string; message: string }>).map(
      (i) => `${i.path}: ${i.message}`,
    );
    assert.ok(
      issues.some((i) => /^switchyard\.yaml:3:9 gateway\.port: expected number, got string "eighty"$/.test(i)),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) =>
        i.startsWith('switchyard.yaml:7:7 gateway.routes[0].timout: unknown field (did you mean "timeout"?)'),
      ),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('switchyard.yaml:10:14 services.a.command:')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => i.startsWith('switchyard.yaml:11:15 services.a.replicas:')),
      issues.join('\n'),
    );
  });

  it('rejects a bad duration naming the field', () => {
    const err = failure(valid.replace('timeout: 5s', 'timeout: 5 seconds'));
    assert.match(err.message, /gateway\.routes\[0\]\.timeout: expected a duration/);
  });

  it('rejects malformed YAML with file:line:column', () => {
    const err = failure('version: 1\ngateway: [unclosed\n');
    assert.equal(err.code, 'SY_CLI_CONFIG_SYNTAX');
    assert.match(err.message, /^switchyard\.yaml:\d+:\d+ /);
  });

  it('substitutes ${ENV} and ${ENV:-default} in values without changing the structure', () => {
    const text = valid.replace('port: 0', 'port: ${GW_PORT:-9999}').replace('name: shop', 'name: ${NAME}');
    const { config } = parseConfig(text, 'switchyard.yaml', { NAME: 'a: b' });
    assert.equal(config.name, 'a: b', 'a value that looks like a map stays a string');
    assert.equal(config.gateway.port, 9999, 'a plain scalar is typed after substitution');
    assert.equal(parseConfig(text, 'switchyard.yaml', { NAME: 'x', GW_PORT: '80' }).config.gateway.port, 80);
    // quoted in YAML, it stays a string, and the schema says so
    const quoted = valid.replace('port: 0', 'port: "${GW_PORT}"');
    assert.throws(
      () => parseConfig(quoted, 'switchyard.yaml', { GW_PORT: '80' }),
      /gateway\.port: expected number, got string "80"/,
    );
  });

  it('names an unset variable and where it is used', () => {
    const err = failure(valid.replace('name: shop', 'name: ${SHOP_NAME}'));
    assert.equal(err.code, 'SY_CLI_ENV_MISSING');
    assert.match(err.message, /switchyard\.yaml:2:7 \$\{SHOP_NAME\} is not set/);
  });

  it('gates on the version: another major is refused, a newer minor warns', () => {
    assert.equal(failure(valid.replace('version: 1', 'version: 2')).code, 'SY_CLI_CONFIG_VERSION');
    assert.equal(failure(valid.replace('version: 1', 'version: banana')).code, 'SY_CLI_CONFIG_VERSION');
    const { warnings } = parseConfig(valid.replace('version: 1', 'version: "1.7"'), 'switchyard.yaml', {});
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /newer than this switchyard/);
    assert.match(failure(valid.replace('version: 1\n', '')).message, /version: required/);
  });

  it('rejects duplicate keys', () => {
    assert.equal(failure(`${valid}name: again\n`).code, 'SY_CLI_CONFIG_SYNTAX');
  });
});
