import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { compileFilter, FilterTarget } from './filter.ts';

const web1 = {
  Node: { ID: 'n', Node: 'switchyard', Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} },
  Service: {
    ID: 'web-1',
    Service: 'web',
    Tags: ['v1', 'primary'],
    Address: '',
    Port: 8080,
    Meta: { version: '2', 'build-id': 'abc' },
    Weights: { Passing: 1, Warning: 1 },
  },
  Checks: [
    { CheckID: 'serfHealth', Status: 'passing', ServiceName: '' },
    { CheckID: 'service:web-1', Status: 'critical', ServiceName: 'web' },
  ],
};
const web2 = {
  ...web1,
  Service: { ...web1.Service, ID: 'web-2', Tags: [], Port: 9090, Meta: {} },
  Checks: [{ CheckID: 'serfHealth', Status: 'passing', ServiceName: '' }],
};

function ids(expression: string): string[] {
  const filter = compileFilter(expression, FilterTarget.HealthService);
  return [web1, web2].filter((entry) => filter.matches(entry)).map((entry) => entry.Service.ID);
}

function assertInvalid(expression: string, ...fragments: string[]): void {
  assert.throws(
    () => compileFilter(expression, FilterTarget.HealthService),
    (err: unknown) => {
      assert.ok(isSwitchyardError(err, 'SY_DISCOVERY_INVALID_FILTER'), String(err));
      assert.match(err.message, /^Failed to create boolean expression evaluator: \d+:\d+ \(\d+\): /);
      for (const fragment of fragments) assert.ok(err.message.includes(fragment), `${err.message} lacks ${fragment}`);
      return true;
    },
  );
}

describe('compileFilter', () => {
  test('== and != on strings, numbers and map keys', () => {
    assert.deepEqual(ids('Service.ID == "web-1"'), ['web-1']);
    assert.deepEqual(ids('Service.ID != "web-1"'), ['web-2']);
    assert.deepEqual(ids('Service.Port == 9090'), ['web-2']);
    assert.deepEqual(ids('Service.Meta.version == "2"'), ['web-1']);
    assert.deepEqual(ids('Service.Meta["build-id"] == `abc`'), ['web-1']);
    assert.deepEqual(ids('Node.Node == switchyard'), ['web-1', 'web-2'], 'a bare word is a string value');
  });

  test('in, not in, contains, not contains, is empty, is not empty', () => {
    assert.deepEqual(ids('"v1" in Service.Tags'), ['web-1']);
    assert.deepEqual(ids('"v1" not in Service.Tags'), ['web-2']);
    assert.deepEqual(ids('Service.Tags contains "primary"'), ['web-1']);
    assert.deepEqual(ids('Service.Tags not contains "primary"'), ['web-2']);
    assert.deepEqual(ids('Service.Tags is empty'), ['web-2']);
    assert.deepEqual(ids('Service.Meta is not empty'), ['web-1']);
    assert.deepEqual(ids('"version" in Service.Meta'), ['web-1'], 'in on a map tests its keys');
    assert.deepEqual(ids('Service.Meta.missing is empty'), ['web-1', 'web-2']);
  });

  test('selectors through a list match when any element does', () => {
    assert.deepEqual(ids('Checks.Status == critical'), ['web-1']);
    assert.deepEqual(ids('Checks.Status != critical'), ['web-2']);
    assert.deepEqual(ids('"critical" in Checks.Status'), ['web-1']);
    assert.deepEqual(ids('Checks is not empty'), ['web-1', 'web-2']);
  });

  test('matches, and, or, not and parentheses with the usual precedence', () => {
    assert.deepEqual(ids('Service.ID matches "-2$"'), ['web-2']);
    assert.deepEqual(ids('Service.ID not matches "^web"'), []);
    assert.deepEqual(ids('Service.Port == 8080 or Service.Port == 9090 and Service.Tags is empty'), ['web-1', 'web-2']);
    assert.deepEqual(ids('(Service.Port == 8080 or Service.Port == 9090) and Service.Tags is empty'), ['web-2']);
    assert.deepEqual(ids('not Service.Port == 8080'), ['web-2']);
    assert.deepEqual(ids('not (Service.Port == 8080 or "v1" in Service.Tags)'), ['web-2']);
  });

  test('a malformed expression names the position', () => {
    assertInvalid('Service.ID ==', '1:14 (13)', 'expected a value');
    assertInvalid('Service.ID = "x"', '1:12 (11)', 'unexpected character "="');
    assertInvalid('(Service.Port == 1', '1:19 (18)', 'expected ")"');
    assertInvalid('Service.Port == 1 Service.ID == "a"', '1:19 (18)', 'expected "and", "or"');
    assertInvalid('Service.ID == "open', '1:15 (14)', 'unterminated string');
    assertInvalid('Service.ID\n  equals "x"', '2:3 (13)');
    assertInvalid('   ', 'empty');
  });

  test('an unknown selector, a wrong value type or a collection compared with == is refused', () => {
    assertInvalid('Service.Foo == "x"', 'Selector "Service.Foo" is not valid');
    assertInvalid('Service.Meta.a.b == "x"', 'is not valid');
    assertInvalid('Service.Port == "eighty"', 'Service.Port is a number');
    assertInvalid('Service.Tags == "v1"', 'is a collection');
    assertInvalid('Service.ID matches "("', 'invalid regular expression');
  });

  test('each endpoint shape has its own selectors', () => {
    const catalog = compileFilter('ServicePort == 80 and ServiceMeta.v == "1"', FilterTarget.CatalogService);
    assert.equal(catalog.matches({ ServicePort: 80, ServiceMeta: { v: '1' } }), true);
    const check = compileFilter('Status == passing and ServiceName == web', FilterTarget.HealthCheck);
    assert.equal(check.matches({ Status: 'passing', ServiceName: 'web' }), true);
    assert.throws(() => compileFilter('Service.ID == "x"', FilterTarget.HealthCheck), /not valid/);
  });
});
