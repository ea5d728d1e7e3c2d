import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { errorOf, send, startGateway, startUpstream, staticSource } from '../fixtures.test.ts';
import { jwtAuth } from './jwt.ts';
import type { JwtAuthOptions } from './options.ts';

const issuer = 'https://id.test';
const audience = 'shop-api';

type Pair = Awaited<ReturnType<typeof generateKeyPair>> & { kid: string; jwk: JWK };

async function keyPair(kid: string, alg = 'RS256'): Promise<Pair> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { ...pair, kid, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } };
}

function sign(key: Pair, claims: JWTPayload = {}, header: { kid?: string; alg?: string } = {}) {
  return new SignJWT({ sub: 'user-1', email: 'ada@example.test', ...claims })
    .setProtectedHeader({ alg: header.alg ?? 'RS256', kid: header.kid ?? key.kid })
    .setIssuer(typeof claims.iss === 'string' ? claims.iss : issuer)
    .setAudience(claims.aud ?? audience)
    .setIssuedAt()
    .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : '5m')
    .sign(key.privateKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface Jwks {
  readonly url: string;
  keys: JWK[];
  /** `up`, `error` (HTTP 500) or `down` (connection reset). */
  mode: 'up' | 'error' | 'down';
  fetches: number;
}

async function startJwks(t: TestContext, keys: JWK[]): Promise<Jwks> {
  const state = { url: '', keys, mode: 'up' as Jwks['mode'], fetches: 0 };
  const server: Server = createServer((req, res) => {
    state.fetches++;
    if (state.mode === 'down') return req.socket.destroy();
    if (state.mode === 'error') return res.writeHead(500).end('boom');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return state;
}

async function setup(t: TestContext, options: Partial<JwtAuthOptions> & { keys?: JWK[] } = {}) {
  const { keys, ...rest } = options;
  const api = await startUpstream(t, 'api');
  const jwks = await startJwks(t, keys ?? []);
  const auth = jwtAuth({
    jwksUrl: jwks.url,
    issuer,
    audience,
    algorithms: ['RS256'],
    identityHeaders: { subject: 'x-user-id', claims: { 'x-user-email': 'email' } },
    ...rest,
  } as JwtAuthOptions);
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/api', service: 'api' }] },
    staticSource({ api: [api.instance('api')] }),
    {
      middleware: [auth],
    },
  );
  const call = (token: string | undefined, headers: Record<string, string> = {}) =>
    send(gateway.url, '/api/orders', {
      headers: token === undefined ? headers : { ...headers, authorization: `Bearer ${token}` },
    });
  return { api, jwks, call };
}

describe('jwtAuth through a gateway', () => {
  test('a valid token passes; identity headers reach the upstream and spoofed copies do not', async (t) => {
    const k1 = await keyPair('k1');
    const { api, call } = await setup(t, { keys: [k1.jwk] });
    const ok = await call(await sign(k1), { 'x-user-id': 'admin', 'x-user-email': 'evil@example.test' });
    assert.equal(ok.status, 200, ok.body);
    const seen = api.seen.at(-1)?.headers ?? {};
    assert.equal(seen['x-user-id'], 'user-1');
    assert.equal(seen['x-user-email'], 'ada@example.test');
    // A token without the email claim: the spoofed header is removed, not kept.
    const noEmail = await call(await sign(k1, { email: undefined }), { 'x-user-email': 'evil@example.test' });
    assert.equal(noEmail.status, 200);
    assert.equal(api.seen.at(-1)?.headers['x-user-email'], undefined);
  });

  test('missing token is 401 with WWW-Authenticate; the upstream is not called', async (t) => {
    const k1 = await keyPair('k1');
    const { api, call } = await setup(t, { keys: [k1.jwk] });
    const response = await call(undefined, { 'x-user-id': 'admin' });
    assert.equal(response.status, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="switchyard"');
    assert.equal(errorOf(response).code, 'SY_GATEWAY_UNAUTHENTICATED');
    assert.equal((await call('garbage')).status, 401);
    assert.equal(api.seen.length, 0);
  });

  test('attacks: alg none, HS256 signed with the RSA public key, wrong key, wrong audience, wrong issuer, expired', async (t) => {
    const k1 = await keyPair('k1');
    const { api, call } = await setup(t, { keys: [k1.jwk] });
    const now = Math.floor(Date.now() / 1000);
    const none = `${b64({ alg: 'none', kid: 'k1' })}.${b64({ sub: 'admin', iss: issuer, aud: audience, exp: now + 300 })}.`;
    const pem = await exportSPKI(k1.publicKey);
    const confused = await new SignJWT({ sub: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(pem));
    const other = await keyPair('k1');
    const cases: [string, string, RegExp][] = [
      ['alg none', none, /algorithm is not allowed/],
      ['HS/RS confusion', confused, /algorithm is not allowed/],
      ['wrong key, same kid', await sign(other), /signature is invalid/],
      ['wrong audience', await sign(k1, { aud: 'other-api' }), /"aud" claim/],
      ['wrong issuer', await sign(k1, { iss: 'https://evil.test' }), /"iss" claim/],
      ['expired beyond the skew', await sign(k1, { exp: now - 120 }), /expired/],
      ['not yet valid', await sign(k1, { nbf: now + 120 }), /"nbf" claim/],
    ];
    for (const [name, token, message] of cases) {
      const response = await call(token);
      assert.equal(response.status, 401, name);
      assert.equal(errorOf(response).code, 'SY_GATEWAY_UNAUTHENTICATED', name);
      assert.match(errorOf(response).message, message, name);
      assert.match(
        String(response.headers['www-authenticate']),
        /^Bearer realm="switchyard", error="invalid_token"/,
        name,
      );
    }
    const noExp = await new SignJWT({ sub: 'admin' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(audience)
      .sign(k1.privateKey);
    assert.match(errorOf(await call(noExp)).message, /"exp" claim/, 'a token that never expires is refused');
    assert.equal(api.seen.length, 0);
    const skewed = await call(await sign(k1, { exp: now - 10 }));
    assert.equal(skewed.status, 200, 'expired 10 s ago is within the 30 s clock tolerance');
  });

  test('key rotation: a new kid is picked up from the JWKS; unknown kid with the JWKS up is 401', async (t) => {
    const k1 = await keyPair('k1');
    const k2 = await keyPair('k2');
    const { jwks, call } = await setup(t, { keys: [k1.jwk], cooldown: 0 });
    assert.equal((await call(await sign(k1))).status, 200);
    const token2 = await sign(k2);
    const before = await call(token2);
    assert.equal(before.status, 401);
    assert.match(errorOf(before).message, /no trusted key/);
    jwks.keys = [k1.jwk, k2.jwk];
    const fetches = jwks.fetches;
    assert.equal((await call(token2)).status, 200);
    assert.equal(jwks.fetches, fetches + 1, 'one refetch for the unknown kid');
    assert.equal((await call(token2)).status, 200);
    assert.equal(jwks.fetches, fetches + 1, 'then served from the cache');
    jwks.keys = [k2.jwk];
    assert.equal((await call(await sign(k1))).status, 200, 'a removed key keeps working until the cache expires');
  });

  test('JWKS down: cached keys keep working past cacheMaxAge; an unknown kid is 503', async (t) => {
    const k1 = await keyPair('k1');
    const k3 = await keyPair('k3');
    const { jwks, call } = await setup(t, { keys: [k1.jwk], cacheMaxAge: 0, cooldown: 0 });
    assert.equal((await call(await sign(k1))).status, 200);
    for (const mode of ['down', 'error'] as const) {
      jwks.mode = mode;
      const fetches = jwks.fetches;
      const ok = await call(await sign(k1));
      assert.equal(ok.status, 200, `${mode}: ${ok.body}`);
      assert.ok(jwks.fetches > fetches, 'the gateway did try to refresh');
      const unknown = await call(await sign(k3));
      assert.equal(unknown.status, 503, mode);
      assert.equal(errorOf(unknown).code, 'SY_GATEWAY_AUTH_UNAVAILABLE');
      assert.equal(unknown.headers['retry-after'], '1');
    }
  });

  test('JWKS down after a failure waits for the cooldown before fetching again', async (t) => {
    const k1 = await keyPair('k1');
    const { jwks, call } = await setup(t, { keys: [k1.jwk], cacheMaxAge: 0, cooldown: '1h' });
    assert.equal((await call(await sign(k1))).status, 200);
    jwks.mode = 'down';
    const fetches = jwks.fetches;
    for (let i = 0; i < 3; i++) assert.equal((await call(await sign(k1))).status, 200);
    assert.equal(jwks.fetches, fetches + 1);
  });

  test('JWKS never reached: 503, not 401', async (t) => {
    const k1 = await keyPair('k1');
    const { jwks, call } = await setup(t, { keys: [k1.jwk] });
    jwks.mode = 'down';
    const response = await call(await sign(k1));
    assert.equal(response.status, 503);
    assert.equal(errorOf(response).code, 'SY_GATEWAY_AUTH_UNAVAILABLE');
  });

  test('optional: anonymous requests pass without identity headers; a bad token is still 401', async (t) => {
    const k1 = await keyPair('k1');
    const { api, call } = await setup(t, { keys: [k1.jwk], optional: true });
    const anonymous = await call(undefined, { 'x-user-id': 'admin' });
    assert.equal(anonymous.status, 200);
    assert.equal(api.seen.at(-1)?.headers['x-user-id'], undefined);
    assert.equal((await call('garbage')).status, 401);
  });
});

describe('jwtAuth key sources', () => {
  test('publicKeys (PEM) verifies without a JWKS', async (t) => {
    const k1 = await keyPair('k1');
    const api = await startUpstream(t, 'api');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'api' }] },
      staticSource({ api: [api.instance('api')] }),
      {
        middleware: [
          jwtAuth({ publicKeys: [await exportSPKI(k1.publicKey)], issuer, audience, algorithms: ['RS256'] }),
        ],
      },
    );
    const ok = await send(gateway.url, '/api', { headers: { authorization: `Bearer ${await sign(k1)}` } });
    assert.equal(ok.status, 200, ok.body);
    const other = await keyPair('k1');
    const bad = await send(gateway.url, '/api', { headers: { authorization: `Bearer ${await sign(other)}` } });
    assert.equal(bad.status, 401);
  });

  test('an HMAC secret verifies HS256 and refuses RS256', async (t) => {
    const secret = 'a-shared-secret-of-at-least-32-bytes!';
    const api = await startUpstream(t, 'api');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'api' }] },
      staticSource({ api: [api.instance('api')] }),
      {
        middleware: [jwtAuth({ secret, issuer, audience, algorithms: ['HS256'] })],
      },
    );
    const hs = await new SignJWT({ sub: 'u' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));
    assert.equal((await send(gateway.url, '/api', { headers: { authorization: `Bearer ${hs}` } })).status, 200);
    const rs = await sign(await keyPair('k1'));
    assert.equal((await send(gateway.url, '/api', { headers: { authorization: `Bearer ${rs}` } })).status, 401);
  });
});
