import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { parseConfig } from './load-config.ts';
import { dependencyIssues, dependencyLevels } from './start-order.ts';

describe('start order', () => {
  it('levels: independent services together, dependents after their dependencies', () => {
    assert.deepEqual(
      dependencyLevels({ web: { dependsOn: ['api'] }, api: { dependsOn: ['db', 'cache'] }, db: {}, cache: {} }),
      [['db', 'cache'], ['api'], ['web']],
    );
  });

  it('reports unknown names, repeats and each cycle once', () => {
    assert.deepEqual(
      dependencyIssues({
        a: { dependsOn: ['b'] },
        b: { dependsOn: ['c', 'a'] },
        c: { dependsOn: ['b', 'x', 'x'] },
        d: { dependsOn: ['d'] },
      }),
      [
        { path: ['c', 'dependsOn', 1], message: 'unknown service "x"' },
        { path: ['c', 'dependsOn', 2], message: 'unknown service "x"' },
        { path: ['b', 'dependsOn'], message: 'cycle b -> c -> b' },
        { path: ['d', 'dependsOn'], message: 'cycle d -> d' },
      ],
    );
  });

  it('switchyard.yaml: an unknown dependency and a cycle are config errors naming the path and line', () => {
    const yaml = [
      'version: 1',
      'gateway: { routes: [] }',
      'services:',
      '  orders: { command: node a.ts, dependsOn: [x] }',
      '  a: { command: node a.ts, dependsOn: [b] }',
      '  b: { command: node b.ts, dependsOn: [a] }',
    ].join('\n');
    assert.throws(
      () => parseConfig(yaml, 'switchyard.yaml', {}),
      (err) => {
        assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
        assert.match(err.message, /switchyard\.yaml:4:\d+ services\.orders\.dependsOn\[0\]: unknown service "x"/);
        assert.match(err.message, /services\.a\.dependsOn: cycle a -> b -> a/);
        return true;
      },
    );
  });

  it('switchyard.yaml: dependsOn and restart are optional with defaults', () => {
    const { config } = parseConfig(
      'version: 1\ngateway: { routes: [] }\nservices:\n  a: { command: node a.ts, restart: { policy: always } }\n',
      'switchyard.yaml',
      {},
    );
    assert.deepEqual(config.services.a?.dependsOn, []);
    assert.equal(config.services.a?.restart.policy, 'always');
    assert.equal(config.services.a?.restart.crashLoop.restarts, 5);
  });
});
