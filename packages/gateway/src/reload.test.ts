import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveGatewayOptions } from './options.ts';
import { silentLogger } from './ports.ts';
import { createRuntimeSlot, retireRuntime, unchangeableOnReload } from './reload.ts';
import type { GatewayRuntime } from './runtime.ts';

function fakeRuntime(): { runtime: GatewayRuntime; closes: () => number } {
  let closes = 0;
  const runtime = {
    close: async () => {
      closes += 1;
    },
  } as unknown as GatewayRuntime;
  return { runtime, closes: () => closes };
}

describe('retireRuntime', () => {
  it('closes an idle runtime at once, and only once', async () => {
    const { runtime, closes } = fakeRuntime();
    const slot = createRuntimeSlot(runtime);
    await retireRuntime(slot, silentLogger);
    await retireRuntime(slot, silentLogger);
    assert.equal(closes(), 1);
  });

  it('waits for the requests still using the runtime', async () => {
    const { runtime, closes } = fakeRuntime();
    const slot = createRuntimeSlot(runtime);
    slot.inFlight = 2;
    let settled = false;
    const done = retireRuntime(slot, silentLogger).then(() => {
      settled = true;
    });
    await Promise.resolve();
    assert.equal(closes(), 0);
    slot.inFlight = 0; // as the last request's 'close' listener does, before calling it again
    void retireRuntime(slot, silentLogger);
    await done;
    assert.ok(settled);
    assert.equal(closes(), 1);
  });

  it('logs a failing close instead of rejecting', async () => {
    const logged: string[] = [];
    const runtime = { close: async () => Promise.reject(new Error('boom')) } as unknown as GatewayRuntime;
    await retireRuntime(createRuntimeSlot(runtime), { ...silentLogger, error: (_o, msg) => logged.push(msg) });
    assert.equal(logged.length, 1);
  });
});

describe('unchangeableOnReload', () => {
  const base = resolveGatewayOptions({ port: 8080, routes: [] });
  it('accepts a change of routes and timeouts', () => {
    const next = resolveGatewayOptions({ port: 8080, timeout: '5s', routes: [{ path: '/a', service: 'a' }] });
    assert.deepEqual(unchangeableOnReload(base, next), []);
  });
  it('names each listener field that changed', () => {
    const next = resolveGatewayOptions({ port: 8081, admin: {}, routes: [] });
    assert.deepEqual(
      unchangeableOnReload(base, next).map((i) => i.path),
      ['gateway.port', 'gateway.admin'],
    );
  });
});
