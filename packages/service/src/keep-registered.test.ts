import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HealthStatus, ManualClock } from '@switchyard/core';
import { type ConsulClient, discoveryError, type ServiceRegistration } from '@switchyard/discovery';
import { buildRegistration, keepRegistered, type RegistrationClient } from './keep-registered.ts';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function recordingLogger() {
  const lines: string[] = [];
  return {
    lines,
    info: (_o: object, msg?: string) => lines.push(`info ${msg}`),
    warn: (_o: object, msg?: string) => lines.push(`warn ${msg}`),
    error: (_o: object, msg?: string) => lines.push(`error ${msg}`),
  };
}

const unreachable = () => discoveryError('SY_DISCOVERY_REGISTRY_UNREACHABLE', 'connect ECONNREFUSED');
const notFound = () =>
  discoveryError('SY_DISCOVERY_REGISTRY_REJECTED', 'answered 404', { details: { status: 404 }, retryable: false });

interface Fake {
  readonly calls: string[];
  registerFails: number;
  heartbeat: 'ok' | 'not-found' | 'unreachable';
  known: boolean;
  readonly client: RegistrationClient;
}

/** A registry client whose answers the test decides. */
function fakeClient(): Fake {
  const calls: string[] = [];
  const fake: Fake = {
    calls,
    registerFails: 0,
    heartbeat: 'ok',
    known: true,
    client: {
      async register(r: ServiceRegistration) {
        calls.push(`register ${r.ID}`);
        if (fake.registerFails > 0) {
          fake.registerFails--;
          throw unreachable();
        }
      },
      async deregister(id: string) {
        calls.push(`deregister ${id}`);
        return true;
      },
      async updateTtl(checkId: string, status: HealthStatus, output: string) {
        calls.push(`ttl ${checkId} ${status} ${output}`);
        if (fake.heartbeat === 'not-found') throw notFound();
        if (fake.heartbeat === 'unreachable') throw unreachable();
      },
      async isRegistered(id: string) {
        calls.push(`lookup ${id}`);
        return fake.known;
      },
    },
  };
  return fake;
}

const ttlRegistration = buildRegistration({
  name: 'orders',
  id: 'orders-1',
  address: '127.0.0.1',
  port: 8080,
  tags: [],
  meta: {},
  check: { type: 'ttl', ttl: 3000, deregisterCriticalAfter: 60_000 },
});

describe('keepRegistered', () => {
  it('accepts a Consul client as a RegistrationClient (checked by the compiler)', () => {
    const fits = (client: ConsulClient): RegistrationClient => client;
    assert.equal(typeof fits, 'function');
  });

  it('builds a TTL registration with an explicit check ID', () => {
    assert.equal(ttlRegistration.checkId, 'service:orders-1');
    assert.deepEqual(ttlRegistration.registration.Check, {
      CheckID: 'service:orders-1',
      Name: 'orders TTL health',
      TTL: '3s',
      DeregisterCriticalServiceAfter: '1m0s',
    });
  });

  it('retries registration with capped backoff, logging each failure, then heartbeats', async () => {
    const clock = new ManualClock(0);
    const fake = fakeClient();
    fake.registerFails = 6;
    const logger = recordingLogger();
    const keeper = keepRegistered({
      client: fake.client,
      registration: ttlRegistration.registration,
      ttl: { checkId: ttlRegistration.checkId, heartbeatMs: 1000, health: () => 'passing' },
      resyncIntervalMs: 30_000,
      retry: { initial: 100, max: 400 },
      registryName: 'test',
      logger,
      clock,
    });
    const waited = keeper.waitRegistered(60_000);
    await flush();
    // Full jitter under a 400 ms cap: every retry is due within 400 ms of the last.
    for (let i = 0; i < 6; i++) {
      clock.advance(400);
      await flush();
    }
    assert.equal(await waited, true);
    assert.equal(fake.calls.filter((c) => c.startsWith('register')).length, 7);
    assert.equal(logger.lines.filter((l) => l === 'warn registration failed; retrying').length, 6);
    assert.ok(logger.lines.includes('info registered'));
    assert.equal(fake.calls.at(-1), 'ttl service:orders-1 passing passing', 'reported at once');
    clock.advance(1000);
    await flush();
    assert.equal(fake.calls.filter((c) => c.startsWith('ttl')).length, 2);
    assert.equal(await keeper.stop(), true);
    assert.equal(fake.calls.at(-1), 'deregister orders-1');
    clock.advance(10_000);
    await flush();
    assert.equal(fake.calls.at(-1), 'deregister orders-1', 'no timer left after stop');
  });

  it('re-registers at once when a heartbeat gets 404, with backoff if it is lost again at once', async () => {
    const clock = new ManualClock(0);
    const fake = fakeClient();
    const events: string[] = [];
    const keeper = keepRegistered({
      client: fake.client,
      registration: ttlRegistration.registration,
      ttl: {
        checkId: ttlRegistration.checkId,
        heartbeatMs: 1000,
        health: () => ({ status: 'warning', output: 'slow' }),
      },
      resyncIntervalMs: 30_000,
      retry: { initial: 100, max: 400 },
      registryName: 'test',
      logger: recordingLogger(),
      clock,
    });
    keeper.onLost((e) => events.push(`lost: ${e.reason}`));
    keeper.onRegistered((e) => events.push(`registered again=${e.reregistered}`));
    keeper.onRegistered(() => {
      throw new Error('a listener that throws changes nothing');
    });
    await flush();
    fake.calls.length = 0;
    fake.heartbeat = 'not-found';
    clock.advance(1000);
    await flush();
    assert.deepEqual(events, [
      'registered again=false',
      'lost: the registry does not know check service:orders-1',
      'registered again=true',
      'lost: the registry does not know check service:orders-1',
    ]);
    // The second loss, right after registering, waits for backoff: no tight loop.
    assert.deepEqual(fake.calls, [
      'ttl service:orders-1 warning slow',
      'register orders-1',
      'ttl service:orders-1 warning slow',
    ]);
    fake.heartbeat = 'ok';
    clock.advance(400);
    await flush();
    assert.equal(keeper.registered, true);
    assert.deepEqual(fake.calls.slice(3), ['register orders-1', 'ttl service:orders-1 warning slow']);
    await keeper.stop();
  });

  it('an unreachable registry on heartbeat is logged, not treated as a loss', async () => {
    const clock = new ManualClock(0);
    const fake = fakeClient();
    const logger = recordingLogger();
    const keeper = keepRegistered({
      client: fake.client,
      registration: ttlRegistration.registration,
      ttl: { checkId: ttlRegistration.checkId, heartbeatMs: 1000, health: () => 'passing' },
      resyncIntervalMs: 30_000,
      retry: { initial: 100, max: 400 },
      registryName: 'test',
      logger,
      clock,
    });
    await flush();
    fake.heartbeat = 'unreachable';
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      await flush();
    }
    assert.equal(keeper.registered, true);
    assert.equal(logger.lines.filter((l) => l === 'warn heartbeat failed').length, 1, 'logged once per streak');
    assert.equal(fake.calls.filter((c) => c.startsWith('register')).length, 1);
    fake.heartbeat = 'ok';
    clock.advance(1000);
    await flush();
    assert.ok(logger.lines.includes('info heartbeats reach the registry again'));
    await keeper.stop();
  });

  it('with an HTTP check, looks the instance up every resyncInterval and registers it again when missing', async () => {
    const clock = new ManualClock(0);
    const fake = fakeClient();
    const { registration } = buildRegistration({
      name: 'orders',
      id: 'orders-2',
      address: '127.0.0.1',
      port: 8080,
      tags: [],
      meta: {},
      check: {
        type: 'http',
        url: 'http://127.0.0.1:8080/health',
        interval: 1000,
        timeout: 1000,
        deregisterCriticalAfter: 60_000,
      },
    });
    const keeper = keepRegistered({
      client: fake.client,
      registration,
      resyncIntervalMs: 5000,
      retry: { initial: 100, max: 400 },
      registryName: 'test',
      logger: recordingLogger(),
      clock,
    });
    await flush();
    clock.advance(5000);
    await flush();
    assert.deepEqual(fake.calls, ['register orders-2', 'lookup orders-2']);
    fake.known = false;
    clock.advance(5000);
    await flush();
    assert.deepEqual(fake.calls.slice(2), ['lookup orders-2', 'register orders-2']);
    await keeper.stop();
  });

  it('stop() before any registration succeeded does not deregister and ends the retries', async () => {
    const clock = new ManualClock(0);
    const fake = fakeClient();
    fake.registerFails = 100;
    const keeper = keepRegistered({
      client: fake.client,
      registration: ttlRegistration.registration,
      ttl: { checkId: ttlRegistration.checkId, heartbeatMs: 1000, health: () => 'passing' },
      resyncIntervalMs: 30_000,
      retry: { initial: 100, max: 400 },
      registryName: 'test',
      logger: recordingLogger(),
      clock,
    });
    const waited = keeper.waitRegistered(10_000);
    await flush();
    assert.equal(await keeper.stop(), false);
    assert.equal(await waited, false);
    assert.equal(await keeper.stop(), false, 'idempotent');
    clock.advance(10_000);
    await flush();
    assert.deepEqual(fake.calls, ['register orders-1']);
  });
});
