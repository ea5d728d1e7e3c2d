import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as z from 'zod';
import { closest, formatPath, resolveOptions, zDuration, zPort } from './config.ts';
import type { SwitchyardError } from './errors.ts';

const schema = z.strictObject({
  port: zPort().default(8080),
  timeout: zDuration().default(30_000),
  routes: z
    .array(
      z.strictObject({
        path: z.string(),
        service: z.string().min(1),
        timeout: zDuration().optional(),
      }),
    )
    .default([]),
});

function issuesOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (err) {
    const e = err as SwitchyardError;
    assert.equal(e.code, 'SY_CONFIG_INVALID');
    return e.details.issues as Array<{ path: string; message: string }>;
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

describe('resolveOptions', () => {
  it('applies defaults, converts durations and freezes deeply', () => {
    const options = resolveOptions(schema, { routes: [{ path: '/a', service: 'a', timeout: '2s' }] }, 'gateway');
    assert.equal(options.port, 8080);
    assert.equal(options.timeout, 30_000);
    assert.equal(options.routes[0]?.timeout, 2000);
    assert.ok(Object.isFrozen(options));
    assert.ok(Object.isFrozen(options.routes[0]));
  });

  it('reports every problem by full path', () => {
    const issues = issuesOf(() =>
      resolveOptions(
        schema,
        {
          port: 'x',
          routes: [
            { path: '/a', service: 'a' },
            { path: '/b', timeout: 'soon' },
          ],
        },
        'gateway',
      ),
    );
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['gateway.port', 'gateway.routes[1].service', 'gateway.routes[1].timeout']);
    assert.equal(issues.find((i) => i.path === 'gateway.routes[1].service')?.message, 'required');
    assert.match(issues.find((i) => i.path === 'gateway.port')?.message ?? '', /expected number, got string "x"/);
  });

  it('suggests the closest known key for an unknown one', () => {
    const issues = issuesOf(() => resolveOptions(schema, { routes: [{ path: '/', service: 's', timout: '1s' }] }));
    assert.deepEqual(issues, [{ path: 'routes[0].timout', message: 'unknown field (did you mean "timeout"?)' }]);
  });

  it('puts every issue in the message, one per line', () => {
    assert.throws(
      () => resolveOptions(schema, { port: 70_000, extra: 1 }, 'gateway'),
      (err: Error) => /gateway\.port: /.test(err.message) && /gateway\.extra: unknown field/.test(err.message),
    );
  });
});

describe('helpers', () => {
  it('formatPath', () => {
    assert.equal(formatPath(['routes', 2, 'service'], 'gateway'), 'gateway.routes[2].service');
    assert.equal(formatPath([]), '(root)');
  });

  it('closest ignores distant words', () => {
    assert.equal(closest('servcie', ['service', 'path']), 'service');
    assert.equal(closest('zzzz', ['service', 'path']), undefined);
  });
});
