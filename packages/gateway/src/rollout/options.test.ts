import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { resolveGatewayOptions } from '../options.ts';
import { resolveRolloutsOptions } from './options.ts';

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (isSwitchyardError(err, 'SY_CONFIG_INVALID')) {
      return (err.details.issues as { path: string; message: string }[]).map((i) => `${i.path}: ${i.message}`);
    }
    throw err;
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

describe('rollout options', () => {
  it('applies the documented defaults', () => {
    const [orders] = resolveRolloutsOptions({ orders: { route: '/api/orders', stable: 'v1', canary: 'v2' } });
    assert.deepEqual(orders, {
      name: 'orders',
      route: '/api/orders',
      stable: 'v1',
      canary: 'v2',
      strategy: 'canary',
      steps: [5, 25, 50, 100],
      pauseMs: 30_000,
      analysis: {
        windowMs: 30_000,
        minRequests: 50,
        maxWaitMs: 30_000,
        onInsufficientTraffic: 'pause',
        maxErrorRate: 0.05,
      },
      store: 'memory',
    });
    const [bg] = resolveRolloutsOptions({
      bg: { route: 'r', stable: 'blue', canary: 'green', strategy: 'blue-green', analysis: { maxP99Ms: 200 } },
    });
    assert.deepEqual(bg?.steps, [100]);
    assert.equal(bg?.analysis.maxErrorRate, undefined, 'an explicit threshold replaces the default');
  });

  it('names the path of every problem', () => {
    const found = issues(() =>
      resolveRolloutsOptions({
        orders: {
          route: 'orders',
          stable: 'v1',
          canary: 'v1',
          steps: [5, 50, 25],
          pause: 'soon',
          analysis: { maxErrorRate: 2 },
          store: 'mysql://x',
        },
      }),
    );
    assert.ok(
      found.some((i) => i.startsWith('gateway.rollouts.orders.canary: must differ from stable')),
      found.join('\n'),
    );
    assert.ok(
      found.some((i) => i.startsWith('gateway.rollouts.orders.steps[2]: weights must increase: 25 follows 50')),
    );
    assert.ok(found.some((i) => i.startsWith('gateway.rollouts.orders.steps[2]: the last step must be 100')));
    assert.ok(found.some((i) => i.startsWith('gateway.rollouts.orders.pause:')));
    assert.ok(found.some((i) => i.startsWith('gateway.rollouts.orders.analysis.maxErrorRate:')));
    assert.ok(found.some((i) => i.startsWith('gateway.rollouts.orders.store: expected "memory"')));
    const bg = issues(() =>
      resolveRolloutsOptions({ x: { route: 'r', stable: 'a', canary: 'b', strategy: 'blue-green', steps: [100] } }),
    );
    assert.deepEqual(bg, [
      'gateway.rollouts.x.steps: blue-green switches all traffic at once; steps apply to strategy "canary" only',
    ]);
  });

  it('checks the route within the gateway config', () => {
    const found = issues(() =>
      resolveGatewayOptions({
        routes: [
          { path: '/api/orders', name: 'orders', service: 'orders' },
          { path: '/static', upstreams: ['http://127.0.0.1:1'] },
        ],
        rollouts: {
          a: { route: 'nope', stable: 'v1', canary: 'v2' },
          b: { route: '/static', stable: 'v1', canary: 'v2' },
          c: { route: 'orders', stable: 'v1', canary: 'v2' },
          d: { route: 'orders', stable: 'v1', canary: 'v2' },
        },
      }),
    );
    assert.deepEqual(found, [
      'gateway.rollouts.a.route: no route is named "nope" (routes: "orders", "/static")',
      'gateway.rollouts.b.route: route "/static" has no service; a rollout moves traffic between subsets of a service',
      'gateway.rollouts.d.route: rollout "c" already moves route "orders"',
    ]);
    const ok = resolveGatewayOptions({
      routes: [{ path: '/api/orders', name: 'orders', service: 'orders' }],
      rollouts: { orders: { route: 'orders', stable: 'v1', canary: 'v2', pause: '5s' } },
    });
    assert.equal(ok.rollouts?.[0]?.pauseMs, 5000);
  });
});
