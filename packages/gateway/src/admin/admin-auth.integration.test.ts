import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { createMetrics, globalMetrics, setGlobalMetrics } from '@switchyard/telemetry';
import { send, startGateway, staticSource } from '../fixtures.test.ts';
import { createGateway } from '../gateway.ts';
import type { GatewayOptions } from '../options.ts';
import { createAdminAuth } from './admin-auth.ts';
import { addSecretValues } from './redact.ts';

const readToken = 'read-token-7f3a9c1e5b2d4f60';
const writeToken = 'write-token-0c8e6a4b2f1d3e57';

const securedOptions = {
  routes: [{ path: '/api', upstreams: ['http://127.0.0.1:9'] }],
  admin: {
    host: '127.0.0.1',
    port: 0,
    auth: {
      tokens: [
        { token: readToken, scope: 'read' as const, name: 'dashboard' },
        { token: writeToken, scope: 'write' as const },
      ],
    },
  },
};

async function startSecured(
  t: TestContext,
  reloaded: () => GatewayOptions = () => ({ ...securedOptions, host: '127.0.0.1', port: 0 }),
) {
  return startGateway(t, securedOptions, staticSource({}), { loadConfig: reloaded });
}

function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

describe('admin API auth', () => {
  it('refuses a request without a token with 401, WWW-Authenticate and a stable code', async (t) => {
    const gateway = await startSecured(t);
    const url = gateway.adminUrl ?? assert.fail('admin API not running');
    for (const path of ['/admin/routes', '/admin/config', '/metrics']) {
      const res = await send(url, path);
      assert.equal(res.status, 401, path);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="switchyard-admin"');
      const body = JSON.parse(res.body) as { error: { code: string; requestId: string } };
      assert.equal(body.error.code, 'SY_GATEWAY_ADMIN_UNAUTHENTICATED');
      assert.equal(typeof body.error.requestId, 'string');
    }
    const unknown = await send(url, '/admin/routes', { headers: bearer('not-a-token-of-this-gateway') });
    assert.equal(unknown.status, 401);
    const basic = await send(url, '/admin/routes', { headers: { authorization: `Basic ${writeToken}` } });
    assert.equal(basic.status, 401);
  });

  it('keeps /healthz and /readyz open for probes', async (t) => {
    const gateway = await startSecured(t);
    const url = gateway.adminUrl ?? assert.fail('admin API not running');
    assert.equal((await send(url, '/healthz')).status, 200);
    assert.equal((await send(url, '/readyz')).status, 200);
  });

  it('gives a read token the views and refuses it an action with 403; a write token may do both', async (t) => {
    const gateway = await startSecured(t);
    const url = gateway.adminUrl ?? assert.fail('admin API not running');
    const routes = await send(url, '/admin/routes', { headers: bearer(readToken) });
    assert.equal(routes.status, 200, routes.body);
    const reloadRead = await send(url, '/admin/reload', { method: 'POST', headers: bearer(readToken) });
    assert.equal(reloadRead.status, 403);
    assert.equal((JSON.parse(reloadRead.body) as { error: { code: string } }).error.code, 'SY_GATEWAY_ADMIN_FORBIDDEN');
    assert.match(String(reloadRead.headers['www-authenticate']), /insufficient_scope/);
    const reloadWrite = await send(url, '/admin/reload', { method: 'POST', headers: bearer(writeToken) });
    assert.equal(reloadWrite.status, 200, reloadWrite.body);
    const viewWrite = await send(url, '/admin/routes', { headers: bearer(writeToken) });
    assert.equal(viewWrite.status, 200);
  });

  it('does not quote the tokens when a reload tries to change gateway.admin', async (t) => {
    const gateway = await startSecured(t, () => ({ routes: [], host: '127.0.0.1', port: 0 }));
    const url = gateway.adminUrl ?? assert.fail('admin API not running');
    const refused = await send(url, '/admin/reload', { method: 'POST', headers: bearer(writeToken) });
    assert.equal(refused.status, 400);
    assert.match(refused.body, /gateway\.admin: cannot change on reload/);
    assert.ok(!refused.body.includes(writeToken) && !refused.body.includes(readToken), refused.body);
  });

  it('never shows the tokens or declared secret values in /admin/config', async (t) => {
    addSecretValues(['upstream-secret-5d1e']);
    const gateway = await startGateway(
      t,
      {
        routes: [{ path: '/api', upstreams: ['http://127.0.0.1:9'], headers: { 'x-tenant': 'upstream-secret-5d1e' } }],
        admin: { host: '127.0.0.1', port: 0, auth: { tokens: [{ token: writeToken, scope: 'write' }] } },
      },
      staticSource({}),
    );
    const res = await send(gateway.adminUrl ?? assert.fail('no admin'), '/admin/config', {
      headers: bearer(writeToken),
    });
    assert.equal(res.status, 200);
    assert.ok(!res.body.includes(writeToken), 'token shown');
    assert.ok(!res.body.includes('upstream-secret-5d1e'), 'declared secret shown');
    assert.match(res.body, /\[redacted\]/);
  });

  it('refuses to start on a non-loopback host without tokens, naming gateway.admin.auth', async () => {
    await assert.rejects(
      createGateway({
        options: { host: '127.0.0.1', port: 0, routes: [], admin: { host: '0.0.0.0', port: 0 } },
        discovery: staticSource({}),
      }),
      (err: unknown) => {
        assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
        assert.match(err.message, /gateway\.admin\.auth: required when the admin API listens on 0\.0\.0\.0/);
        return true;
      },
    );
  });

  it('starts on a non-loopback host with tokens and still refuses anonymous calls', async (t) => {
    const gateway = await createGateway({
      options: {
        host: '127.0.0.1',
        port: 0,
        routes: [],
        admin: { host: '0.0.0.0', port: 0, auth: { tokens: [{ token: readToken, scope: 'read' }] } },
      },
      discovery: staticSource({}),
    });
    t.after(() => gateway.close());
    const port = new URL(gateway.adminUrl ?? assert.fail('no admin')).port;
    assert.equal((await send(`http://127.0.0.1:${port}`, '/admin/routes')).status, 401);
    assert.equal((await send(`http://127.0.0.1:${port}`, '/admin/routes', { headers: bearer(readToken) })).status, 200);
  });

  it('rejects short or duplicate tokens without quoting them', async () => {
    await assert.rejects(
      createGateway({
        options: {
          host: '127.0.0.1',
          port: 0,
          routes: [],
          admin: {
            port: 0,
            auth: {
              tokens: [
                { token: 'short', scope: 'read' },
                { token: writeToken, scope: 'write' },
                { token: writeToken, scope: 'read' },
              ],
            },
          },
        },
        discovery: staticSource({}),
      }),
      (err: unknown) => {
        assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
        assert.match(err.message, /gateway\.admin\.auth\.tokens\[0\]\.token: must be at least 16 characters/);
        assert.match(err.message, /gateway\.admin\.auth\.tokens\[2\]\.token: same token as tokens\[1\]/);
        assert.ok(!err.message.includes(writeToken));
        return true;
      },
    );
  });

  it('counts each refusal by reason in switchyard_admin_auth_refused_total', async (t) => {
    const previous = globalMetrics();
    const metrics = createMetrics({ defaultMetrics: false });
    setGlobalMetrics(metrics);
    t.after(() => setGlobalMetrics(previous));
    const auth = createAdminAuth({
      tokens: [
        { token: readToken, scope: 'read' },
        { token: writeToken, scope: 'write' },
      ],
    });
    assert.deepEqual(auth.authorize({ headers: {} }, 'read'), {
      ok: false,
      status: 401,
      code: 'SY_GATEWAY_ADMIN_UNAUTHENTICATED',
      message: 'the admin API requires an `Authorization: Bearer <token>` header',
    });
    assert.equal(auth.authorize({ headers: bearer('nope-nope-nope-nope') }, 'read').ok, false);
    const forbidden = auth.authorize({ headers: bearer(readToken) }, 'write');
    assert.equal(forbidden.ok === false && forbidden.status, 403);
    assert.deepEqual(auth.authorize({ headers: bearer(readToken) }, 'read'), { ok: true });
    assert.deepEqual(auth.authorize({ headers: bearer(writeToken) }, 'write'), { ok: true });
    const text = await metrics.text();
    assert.match(text, /switchyard_admin_auth_refused_total\{reason="missing_token"\} 1/);
    assert.match(text, /switchyard_admin_auth_refused_total\{reason="unknown_token"\} 1/);
    assert.match(text, /switchyard_admin_auth_refused_total\{reason="insufficient_scope"\} 1/);
  });
});
