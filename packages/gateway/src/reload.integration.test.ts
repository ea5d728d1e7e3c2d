import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, type SwitchyardError } from '@switchyard/core';
import { errorOf, send, startGateway, startUpstream, staticSource } from './fixtures.test.ts';
import type { GatewayOptions } from './options.ts';

function rejection(run: () => void): SwitchyardError {
  try {
    run();
  } catch (err) {
    assert.ok(isSwitchyardError(err), `expected a SwitchyardError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the reload to be refused');
}

describe('gateway reload', () => {
  it('finishes an in-flight request on the old routes while new requests use the new ones', async (t) => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived: () => void = () => {};
    const arrival = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const slow = await startUpstream(t, 'old', (_req, res) => {
      arrived();
      void held.then(() => res.end('old'));
    });
    const fresh = await startUpstream(t, 'new', (_req, res) => res.end('new'));
    const discovery = staticSource({ a: [slow.instance('a')], b: [fresh.instance('b')] });
    const gateway = await startGateway(t, { routes: [{ path: '/api', service: 'a' }] }, discovery);
    assert.equal(gateway.configVersion, 1);
    const firstLoadedAt = gateway.loadedAt;

    const inFlight = send(gateway.url, '/api/one');
    await arrival;
    gateway.reload({
      host: '127.0.0.1',
      port: 0,
      routes: [
        { path: '/api', service: 'b' },
        { path: '/added', service: 'b' },
      ],
    });
    assert.equal(gateway.configVersion, 2);
    assert.ok(gateway.loadedAt.getTime() >= firstLoadedAt.getTime());
    assert.deepEqual(
      gateway.options.routes.map((r) => r.path),
      ['/api', '/added'],
    );

    const during = await send(gateway.url, '/api/two');
    assert.equal(during.body, 'new');
    assert.equal((await send(gateway.url, '/added')).body, 'new');
    release();
    const first = await inFlight;
    assert.equal(first.status, 200);
    assert.equal(first.body, 'old', 'the request that started before the reload finished on the old route');
    assert.equal(slow.seen.length, 1);
  });

  it('refuses an invalid config, listing every problem by path, and keeps serving the old one', async (t) => {
    const upstream = await startUpstream(t, 'a');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'a' }] },
      staticSource({ a: [upstream.instance('a')] }),
    );
    const err = rejection(() =>
      gateway.reload({
        host: '127.0.0.1',
        port: 0,
        routes: [{ path: '/api' }, { path: '/b', service: 'b', timeout: 'soon' }],
      } as GatewayOptions),
    );
    assert.equal(err.code, 'SY_CONFIG_INVALID');
    const paths = (err.details.issues as Array<{ path: string }>).map((i) => i.path);
    assert.ok(paths.includes('gateway.routes[0].service'), paths.join(', '));
    assert.ok(paths.includes('gateway.routes[1].timeout'), paths.join(', '));
    assert.equal(gateway.configVersion, 1);
    assert.equal((await send(gateway.url, '/api/x')).status, 200);
    assert.equal(errorOf(await send(gateway.url, '/b')).code, 'SY_GATEWAY_ROUTE_NOT_FOUND');
  });

  it('refuses a change of the listener fields, naming each, since a reload cannot rebind sockets', async (t) => {
    const gateway = await startGateway(t, { routes: [{ path: '/api', service: 'a' }] }, staticSource({}));
    const err = rejection(() =>
      gateway.reload({ host: '127.0.0.2', port: 8081, admin: { port: 0 }, routes: [{ path: '/api', service: 'a' }] }),
    );
    assert.equal(err.code, 'SY_CONFIG_INVALID');
    const paths = (err.details.issues as Array<{ path: string }>).map((i) => i.path);
    assert.deepEqual(paths, ['gateway.host', 'gateway.port', 'gateway.admin']);
    assert.match(err.message, /gateway\.port: cannot change on reload \(0 → 8081\)/);
    assert.equal(gateway.configVersion, 1);
  });

  it('refuses a reload once the gateway is closing', async (t) => {
    const gateway = await startGateway(t, { routes: [{ path: '/api', service: 'a' }] }, staticSource({}));
    await gateway.close();
    const err = rejection(() => gateway.reload({ host: '127.0.0.1', port: 0, routes: [] }));
    assert.equal(err.code, 'SY_GATEWAY_SHUTTING_DOWN');
  });
});
