import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { createConsulClient } from './consul-client.ts';
import { consulSource } from './consul-source.ts';
import { createDiscoveryClient } from './discovery-client.ts';
import { createRegistry } from './registry.ts';
import { type RegistryAclOptions, RegistryAuthRefusal, registryAclSchema } from './registry-acl.ts';
import { createRegistryServer } from './registry-server.ts';

const readToken = 'c0ffee00-read-4a1b-9c2d-3e4f5a6b7c8d';
const writeToken = 'deadbeef-write-4a1b-9c2d-3e4f5a6b7c8d';

async function start(
  t: TestContext,
  acl: RegistryAclOptions = { tokens: [] },
  onAuthRefused?: (reason: RegistryAuthRefusal) => void,
) {
  const registry = createRegistry();
  const server = await createRegistryServer({
    registry,
    port: 0,
    ...(onAuthRefused === undefined ? {} : { onAuthRefused }),
    acl: {
      tokens: [
        { token: readToken, policy: 'read' },
        { token: writeToken, policy: 'write', name: 'services' },
      ],
      ...(acl.anonymous === undefined ? {} : { anonymous: acl.anonymous }),
    },
  });
  t.after(async () => {
    await server.close();
    await registry.close();
  });
  return { registry, server };
}

const registration = JSON.stringify({ Name: 'orders', ID: 'orders-1', Address: '127.0.0.1', Port: 8080 });

async function put(url: string, headers: Record<string, string> = {}) {
  return fetch(url, { method: 'PUT', body: registration, headers });
}

/** Asserts a 403 with `application/json` and `{ error: { code, message } }`; returns the error. */
async function refusal(res: Response, code: string): Promise<{ code: string; message: string }> {
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message']);
  assert.equal(body.error.code, code);
  return body.error;
}

describe('registry ACL', () => {
  it('refuses anonymous reads and writes with 403, as Consul does with default-deny', async (t) => {
    const { server } = await start(t);
    const read = await refusal(await fetch(`${server.url}/v1/catalog/services`), 'SY_DISCOVERY_ACL_PERMISSION_DENIED');
    assert.equal(read.message, "Permission denied: anonymous token lacks permission 'service:read'");
    const write = await refusal(
      await put(`${server.url}/v1/agent/service/register`),
      'SY_DISCOVERY_ACL_PERMISSION_DENIED',
    );
    assert.match(write.message, /^Permission denied: anonymous token lacks permission 'service:write'$/);
    // Status endpoints stay open, as in Consul.
    assert.equal((await fetch(`${server.url}/v1/status/leader`)).status, 200);
  });

  it('answers an unknown token "ACL not found" without quoting it', async (t) => {
    const { server } = await start(t);
    const unknown = 'ffffffff-0000-0000-0000-000000000000';
    const res = await fetch(`${server.url}/v1/health/service/orders`, { headers: { 'x-consul-token': unknown } });
    const error = await refusal(res, 'SY_DISCOVERY_ACL_NOT_FOUND');
    assert.equal(error.message, 'ACL not found');
    // A token that is a prefix of a real one is just as unknown.
    const prefix = await put(`${server.url}/v1/agent/service/register`, {
      authorization: `Bearer ${writeToken.slice(0, -1)}`,
    });
    assert.equal((await refusal(prefix, 'SY_DISCOVERY_ACL_NOT_FOUND')).message, 'ACL not found');
  });

  it('lets a read token read but not register; a write token does both (X-Consul-Token, Bearer, ?token=)', async (t) => {
    const { server } = await start(t);
    const denied = await put(`${server.url}/v1/agent/service/register`, { 'x-consul-token': readToken });
    assert.equal(
      (await refusal(denied, 'SY_DISCOVERY_ACL_PERMISSION_DENIED')).message,
      "Permission denied: token with policy 'read' lacks permission 'service:write'",
    );
    assert.equal(
      (await put(`${server.url}/v1/agent/service/register`, { authorization: `Bearer ${writeToken}` })).status,
      200,
    );
    const byHeader = await fetch(`${server.url}/v1/health/service/orders`, {
      headers: { 'x-consul-token': readToken },
    });
    assert.equal(byHeader.status, 200);
    assert.equal(((await byHeader.json()) as unknown[]).length, 1);
    assert.equal((await fetch(`${server.url}/v1/catalog/services?token=${readToken}`)).status, 200);
    assert.equal(
      (await fetch(`${server.url}/v1/agent/services`, { headers: { authorization: `Bearer ${writeToken}` } })).status,
      200,
    );
    const deregister = await fetch(`${server.url}/v1/agent/service/deregister/orders-1?token=${readToken}`, {
      method: 'PUT',
    });
    await refusal(deregister, 'SY_DISCOVERY_ACL_PERMISSION_DENIED');
  });

  it('reports every refusal to onAuthRefused with its reason, and nothing for admitted requests', async (t) => {
    const reasons: RegistryAuthRefusal[] = [];
    const { server } = await start(t, { tokens: [] }, (reason) => reasons.push(reason));
    const drain = async (res: Response) => {
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await drain(await fetch(`${server.url}/v1/catalog/services`)), 403);
    assert.equal(await drain(await put(`${server.url}/v1/agent/service/register`)), 403);
    assert.equal(
      await drain(
        await fetch(`${server.url}/v1/agent/services`, {
          headers: { 'x-consul-token': 'ffffffff-0000-0000-0000-000000000000' },
        }),
      ),
      403,
    );
    assert.equal(
      await drain(await put(`${server.url}/v1/agent/service/register`, { 'x-consul-token': readToken })),
      403,
    );
    assert.equal(reasons.length, 4);
    // Admitted requests and the open status endpoints are not counted.
    assert.equal(await drain(await fetch(`${server.url}/v1/agent/services?token=${readToken}`)), 200);
    assert.equal(
      await drain(await put(`${server.url}/v1/agent/service/register`, { 'x-consul-token': writeToken })),
      200,
    );
    assert.equal(await drain(await fetch(`${server.url}/v1/status/leader`)), 200);
    assert.deepEqual(reasons, [
      RegistryAuthRefusal.MissingToken,
      RegistryAuthRefusal.MissingToken,
      RegistryAuthRefusal.UnknownToken,
      RegistryAuthRefusal.InsufficientPolicy,
    ]);
  });

  it('still answers the refusal when onAuthRefused throws, turning the throw into a warning', async (t) => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const { server } = await start(t, { tokens: [] }, () => {
      throw new Error('counter broke');
    });
    await refusal(await fetch(`${server.url}/v1/catalog/services`), 'SY_DISCOVERY_ACL_PERMISSION_DENIED');
    const deadline = Date.now() + 2000;
    while (warnings.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(warnings.some((w) => w.message === 'counter broke'));
  });

  it('with anonymous: read, serves reads without a token and still refuses writes', async (t) => {
    const { server } = await start(t, { tokens: [], anonymous: 'read' });
    assert.equal((await fetch(`${server.url}/v1/catalog/services`)).status, 200);
    const write = await put(`${server.url}/v1/agent/service/register`);
    assert.match(
      (await refusal(write, 'SY_DISCOVERY_ACL_PERMISSION_DENIED')).message,
      /^Permission denied: anonymous token lacks permission 'service:write'$/,
    );
  });

  it('works with the Consul client and consulSource when they carry a token', async (t) => {
    const { server } = await start(t);
    const anonymous = createConsulClient({ url: server.url });
    t.after(() => anonymous.close());
    await assert.rejects(
      anonymous.register({ Name: 'orders', ID: 'orders-1', Address: '127.0.0.1', Port: 8080 }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_DISCOVERY_REGISTRY_REJECTED') &&
        err.details?.status === 403 &&
        /Permission denied/.test(err.message),
    );
    const writer = createConsulClient({ url: server.url, token: writeToken });
    t.after(() => writer.close());
    await writer.register({ Name: 'orders', ID: 'orders-1', Address: '127.0.0.1', Port: 8080 });

    const discovery = createDiscoveryClient({ source: consulSource({ url: server.url, token: readToken }) });
    t.after(() => discovery.close());
    const instances = await discovery.instances('orders');
    assert.deepEqual(
      instances.map((i) => i.id),
      ['orders-1'],
    );
  });

  it('consulSource takes its token from SWITCHYARD_REGISTRY_TOKEN', async (t) => {
    const { server } = await start(t);
    const writer = createConsulClient({ url: server.url, token: writeToken });
    t.after(() => writer.close());
    await writer.register({ Name: 'orders', ID: 'orders-2', Address: '127.0.0.1', Port: 8081 });
    const before = process.env.SWITCHYARD_REGISTRY_TOKEN;
    process.env.SWITCHYARD_REGISTRY_TOKEN = readToken;
    t.after(() => {
      if (before === undefined) delete process.env.SWITCHYARD_REGISTRY_TOKEN;
      else process.env.SWITCHYARD_REGISTRY_TOKEN = before;
    });
    const discovery = createDiscoveryClient({ source: consulSource({ url: server.url }) });
    t.after(() => discovery.close());
    assert.deepEqual(
      (await discovery.instances('orders')).map((i) => i.id),
      ['orders-2'],
    );
  });

  it('refuses to start on a non-loopback host without an ACL, naming registry.acl', async () => {
    const registry = createRegistry();
    try {
      await assert.rejects(createRegistryServer({ registry, host: '0.0.0.0', port: 0 }), (err: unknown) => {
        assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
        assert.match(err.message, /registry\.acl: required when the registry API listens on 0\.0\.0\.0/);
        return true;
      });
    } finally {
      await registry.close();
    }
  });

  it('rejects short and duplicate tokens without quoting them', () => {
    const result = registryAclSchema.safeParse({
      tokens: [
        { token: 'short', policy: 'read' },
        { token: writeToken, policy: 'write' },
        { token: writeToken, policy: 'read' },
      ],
    });
    assert.equal(result.success, false);
    const messages = result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.match(messages.join('\n'), /tokens\.0\.token: must be at least 16 characters/);
    assert.match(messages.join('\n'), /tokens\.2\.token: same token as tokens\[1\]/);
    assert.ok(!messages.join('\n').includes(writeToken));
  });
});
