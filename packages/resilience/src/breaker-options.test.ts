import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { type CircuitBreakerOptions, resolveBreakerState, resolveCircuitBreakerOptions } from './breaker-options.ts';
import type { BreakerStateStore } from './breaker-state-store.ts';

function issuesOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    return err.details.issues as Array<{ path: string; message: string }>;
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

function assertIssue(input: unknown, path: string, message?: RegExp): void {
  const issues = issuesOf(() => resolveCircuitBreakerOptions(input as CircuitBreakerOptions));
  const issue = issues.find((i) => i.path === path);
  assert.ok(issue, `expected an issue at ${path}, got ${JSON.stringify(issues)}`);
  if (message) assert.match(issue.message, message);
}

const fakeStore = {
  state: { connections: 1 },
  report: async () => undefined,
  read: async () => undefined,
  acquireProbe: async () => undefined,
  completeProbe: async () => undefined,
  reset: async () => undefined,
} as unknown as BreakerStateStore;

describe('resolveCircuitBreakerOptions', () => {
  it('fills in every default', () => {
    assert.deepEqual(resolveCircuitBreakerOptions(), {
      name: 'default',
      trip: { type: 'time', windowMs: 10_000, buckets: 10, minimumCalls: 20, failureRate: 0.5 },
      openDurationMs: 5000,
      halfOpen: { maxProbes: 1, successesToClose: 1 },
    });
    assert.deepEqual(resolveCircuitBreakerOptions({ trip: { type: 'consecutive' } }).trip, {
      type: 'consecutive',
      failures: 5,
    });
    assert.deepEqual(resolveCircuitBreakerOptions({ trip: { type: 'count' } }).trip, {
      type: 'count',
      size: 100,
      minimumCalls: 20,
      failureRate: 0.5,
    });
    assert.equal(
      resolveCircuitBreakerOptions({ trip: { type: 'count', size: 8 } }).trip.type === 'count' &&
        (resolveCircuitBreakerOptions({ trip: { type: 'count', size: 8 } }).trip as { minimumCalls: number })
          .minimumCalls,
      8,
      'minimumCalls defaults to the smaller of 20 and size',
    );
    assert.deepEqual(resolveCircuitBreakerOptions({ openBackoff: {} }).openBackoff, { factor: 2, maxMs: 300_000 });
  });

  it('parses durations and keeps slow-call settings', () => {
    const resolved = resolveCircuitBreakerOptions({
      trip: { type: 'time', window: '1m', buckets: 6, slowCallRate: 0.8, slowCallDuration: '2s' },
      openDuration: '1.5s',
      openBackoff: { factor: 3, max: '1m' },
    });
    assert.deepEqual(resolved.trip, {
      type: 'time',
      windowMs: 60_000,
      buckets: 6,
      minimumCalls: 20,
      failureRate: 0.5,
      slowCallRate: 0.8,
      slowCallDurationMs: 2000,
    });
    assert.equal(resolved.openDurationMs, 1500);
    assert.deepEqual(resolved.openBackoff, { factor: 3, maxMs: 60_000 });
    assert.ok(Object.isFrozen(resolved) && Object.isFrozen(resolved.trip));
  });

  it('resolves shared options with defaults and keeps the store by reference, unfrozen', () => {
    const resolved = resolveCircuitBreakerOptions({ shared: { store: fakeStore, replicaId: 'a', syncInterval: '2s' } });
    assert.equal(resolved.shared?.store, fakeStore);
    assert.equal(Object.isFrozen(fakeStore), false);
    assert.deepEqual(
      { ...resolved.shared, store: undefined },
      {
        store: undefined,
        replicaId: 'a',
        quorum: { min: 2, ratio: 0.5 },
        syncIntervalMs: 2000,
        reportTtlMs: 6000,
        probeLeaseMs: 30_000,
      },
    );
  });

  it('keeps the classifier by reference', () => {
    const classify = { error: () => 'failure' as const };
    assert.equal(resolveCircuitBreakerOptions({ classify }).classify, classify);
    assert.equal(Object.isFrozen(classify), false);
  });

  it('names each bad field', () => {
    assertIssue({ nam: 'x' }, 'resilience.breaker.nam', /did you mean "name"/);
    assertIssue({ trip: { type: 'sliding' } }, 'resilience.breaker.trip.type');
    assertIssue({ trip: { type: 'consecutive', failures: 0 } }, 'resilience.breaker.trip.failures');
    assertIssue({ trip: { type: 'count', failureRate: 0 } }, 'resilience.breaker.trip.failureRate');
    assertIssue({ trip: { type: 'count', size: 10, failurs: 1 } }, 'resilience.breaker.trip.failurs');
    assertIssue({ trip: { type: 'time', window: 'soon' } }, 'resilience.breaker.trip.window', /duration/);
    assertIssue({ openDuration: -1 }, 'resilience.breaker.openDuration');
    assertIssue({ openBackoff: { factor: 0.5 } }, 'resilience.breaker.openBackoff.factor');
    assertIssue({ halfOpen: { maxProbes: 0 } }, 'resilience.breaker.halfOpen.maxProbes');
    assertIssue({ classify: 'all' }, 'resilience.breaker.classify', /OutcomeClassifier/);
    assertIssue({ shared: { replicaId: 'a' } }, 'resilience.breaker.shared.store', /BreakerStateStore/);
    assertIssue({ shared: { store: fakeStore, replicaId: '' } }, 'resilience.breaker.shared.replicaId');
    assertIssue(
      { shared: { store: fakeStore, replicaId: 'a', syncInterval: 0 } },
      'resilience.breaker.shared.syncInterval',
    );
    assertIssue(
      { shared: { store: fakeStore, replicaId: 'a', quorum: { ratio: 2 } } },
      'resilience.breaker.shared.quorum.ratio',
    );
  });

  it('reports cross-field rules on the field at fault', () => {
    assertIssue(
      { trip: { type: 'count', slowCallRate: 0.5 } },
      'resilience.breaker.trip.slowCallDuration',
      /required when slowCallRate is set/,
    );
    assertIssue(
      { trip: { type: 'time', slowCallDuration: '1s' } },
      'resilience.breaker.trip.slowCallRate',
      /required when slowCallDuration is set/,
    );
    assertIssue({ trip: { type: 'count', size: 10, minimumCalls: 11 } }, 'resilience.breaker.trip.minimumCalls');
    assertIssue({ trip: { type: 'time', window: 5, buckets: 10 } }, 'resilience.breaker.trip.buckets');
    assertIssue({ openDuration: '10s', openBackoff: { max: '5s' } }, 'resilience.breaker.openBackoff.max');
    assertIssue(
      { shared: { store: fakeStore, replicaId: 'a', syncInterval: '1s', reportTtl: '1s' } },
      'resilience.breaker.shared.reportTtl',
    );
    // More successes than probe slots is fine: probes run one after another.
    assert.equal(
      resolveCircuitBreakerOptions({ halfOpen: { maxProbes: 1, successesToClose: 5 } }).halfOpen.successesToClose,
      5,
    );
  });

  it('uses the given root in paths', () => {
    const issues = issuesOf(() => resolveCircuitBreakerOptions({ openDuration: 'x' }, 'gateway.routes[0].breaker'));
    assert.equal(issues[0]?.path, 'gateway.routes[0].breaker.openDuration');
  });
});

describe('resolveBreakerState', () => {
  it('accepts a saved state and drops nothing it knows', () => {
    assert.deepEqual(resolveBreakerState({ version: 1, state: 'open', openedAt: 1, probeAt: 2, trips: 3 }), {
      version: 1,
      state: 'open',
      openedAt: 1,
      probeAt: 2,
      trips: 3,
    });
  });

  it('names the field of a malformed state', () => {
    const issues = issuesOf(() => resolveBreakerState({ version: 1, state: 'open', probeAt: 'later', trips: 1 }));
    assert.equal(issues[0]?.path, 'resilience.breaker.initialState.probeAt');
    const root = issuesOf(() => resolveBreakerState('open', 'saved'));
    assert.equal(root[0]?.path, 'saved');
  });
});
