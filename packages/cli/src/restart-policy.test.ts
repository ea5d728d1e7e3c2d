import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRestartTracker, restartOptionsSchema } from './restart-policy.ts';

const exit = (at: number, code: number | null = 1, signal: string | null = null) => ({ code, signal, at });

describe('restart policy', () => {
  it('defaults: on-failure, 500ms doubling to 30s, crash loop after 5 restarts in 60s', () => {
    assert.deepEqual(restartOptionsSchema.parse({}), {
      policy: 'on-failure',
      backoff: { initial: 500, max: 30_000, resetAfter: 10_000 },
      crashLoop: { restarts: 5, window: 60_000 },
    });
  });

  it('rejects a max below initial and unknown fields, naming the field', () => {
    const result = restartOptionsSchema.safeParse({ backoff: { initial: '2s', max: '1s' }, polcy: 'always' });
    assert.equal(result.success, false);
    const paths = result.error?.issues.map((i) => i.path.join('.'));
    assert.ok(paths?.includes('backoff.max'), JSON.stringify(paths));
    assert.ok(
      result.error?.issues.some((i) => i.code === 'unrecognized_keys'),
      'unknown key reported',
    );
  });

  it('backs off exponentially up to max, and starts over after a long enough run', () => {
    const tracker = createRestartTracker(
      restartOptionsSchema.parse({
        backoff: { initial: '100ms', max: '350ms', resetAfter: '5s' },
        crashLoop: { restarts: 100 },
      }),
    );
    const delays = [1, 2, 3, 4].map((n) => tracker.onExit(exit(n * 10), n * 10 - 1, false));
    assert.deepEqual(
      delays.map((d) => (d.action === 'restart' ? d.delayMs : d.action)),
      [100, 200, 350, 350],
    );
    // It ran 6s before this exit: the next delay is the initial one again.
    assert.deepEqual(tracker.onExit(exit(10_000), 4000, false), { action: 'restart', delayMs: 100, attempt: 1 });
  });

  it('calls more than crashLoop.restarts crashes within the window a crash loop; older crashes fall out', () => {
    const tracker = createRestartTracker(restartOptionsSchema.parse({ crashLoop: { restarts: 2, window: '10s' } }));
    assert.equal(tracker.onExit(exit(0), 0, false).action, 'restart');
    assert.equal(tracker.onExit(exit(1000, null, 'SIGKILL'), 900, false).action, 'restart');
    // The first crash is 10.5s old by now: still two in the window.
    assert.equal(tracker.onExit(exit(10_500), 10_400, false).action, 'restart');
    const decision = tracker.onExit(exit(10_900, 7), 10_800, false);
    assert.equal(decision.action, 'crash-loop');
    assert.deepEqual(decision.action === 'crash-loop' && decision.crashes.map((c) => [c.code, c.signal]), [
      [null, 'SIGKILL'],
      [1, null],
      [7, null],
    ]);
  });

  it('on-failure keeps a clean exit down; always restarts it; never restarts nothing', () => {
    const onFailure = createRestartTracker(restartOptionsSchema.parse({}));
    assert.equal(onFailure.onExit(exit(1, 0), 0, false).action, 'stop');
    assert.equal(onFailure.onExit(exit(2, null, 'SIGTERM'), 0, false).action, 'restart');
    const always = createRestartTracker(restartOptionsSchema.parse({ policy: 'always' }));
    assert.equal(always.onExit(exit(1, 0), 0, false).action, 'restart');
    const never = createRestartTracker(restartOptionsSchema.parse({ policy: 'never' }));
    assert.equal(never.onExit(exit(1, 1), 0, false).action, 'stop');
  });

  it('during start-up only `always` restarts', () => {
    assert.equal(createRestartTracker(restartOptionsSchema.parse({})).onExit(exit(1), 0, true).action, 'stop');
    assert.equal(
      createRestartTracker(restartOptionsSchema.parse({ policy: 'always' })).onExit(exit(1), 0, true).action,
      'restart',
    );
  });
});
