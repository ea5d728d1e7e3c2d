import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { HealthStatus, isSwitchyardError } from '@switchyard/core';
import { openRawAdsStream } from './testing/raw-ads-client.ts';
import { type XdsSnapshotSource, XdsTypeUrl } from './xds/types.ts';
import { type XdsAuthOptions, XdsAuthRefusal } from './xds-auth.ts';
import { createXdsServer } from './xds-server.ts';

const token = 'xds-token-9b8a7c6d5e4f3a21';
const node = { id: 'auth-test', cluster: 'test' };

const source: XdsSnapshotSource = {
  watch(listener) {
    listener(
      new Map([
        [
          'greeter',
          [
            {
              id: 'g-1',
              service: 'greeter',
              address: '127.0.0.1',
              port: 50051,
              tags: [],
              meta: {},
              status: HealthStatus.Passing,
              weight: 1,
            },
          ],
        ],
      ]),
    );
    return { dispose() {} };
  },
};

async function start(t: TestContext, auth: XdsAuthOptions, onAuthRefused?: (reason: XdsAuthRefusal) => void) {
  const server = await createXdsServer({
    source,
    port: 0,
    debounce: 1,
    auth,
    ...(onAuthRefused === undefined ? {} : { onAuthRefused }),
  });
  t.after(() => server.close());
  return server;
}

function bearer(value: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${value}`);
  return metadata;
}

function open(t: TestContext, address: string, init: Parameters<typeof openRawAdsStream>[1] = {}) {
  const stream = openRawAdsStream(address, init);
  t.after(() => stream.close());
  stream.send({ node, type_url: XdsTypeUrl.Cluster, resource_names: [] });
  return stream;
}

/**
 * Made with openssl: a CA, a server certificate for 127.0.0.1, a client certificate, an expired
 * client certificate from the same CA, and a client certificate from another CA.
 */
function certificates(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-xds-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    ssl('req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-subj', `/CN=test-${ca}`, '-days', '1');
  }
  const issue = (name: string, ca: string, days: string, extra: string[] = []) => {
    ssl('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`, ...extra);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      // -1: valid until a day before it was issued, so expired from the start.
      '-days',
      days,
      '-copy_extensions',
      'copy',
      '-out',
      `${name}.pem`,
    );
  };
  issue('server', 'ca', '1', ['-addext', 'subjectAltName=IP:127.0.0.1']);
  issue('client', 'ca', '1');
  issue('expired', 'ca', '-1');
  issue('stranger', 'other-ca', '1');
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const pair = (name: string) => ({ cert: read(`${name}.pem`), key: read(`${name}.key`) });
  return {
    ca: read('ca.pem'),
    server: pair('server'),
    client: pair('client'),
    expired: pair('expired'),
    stranger: pair('stranger'),
  };
}

type Certificates = ReturnType<typeof certificates>;

/** TLS to the server (trusting `ca`), presenting `client` if given. */
function tlsCredentials(certs: Certificates, client?: { cert: string; key: string }): grpc.ChannelCredentials {
  if (client === undefined) return grpc.credentials.createSsl(Buffer.from(certs.ca));
  return grpc.credentials.createSsl(Buffer.from(certs.ca), Buffer.from(client.key), Buffer.from(client.cert));
}

describe('xDS auth', () => {
  it('refuses a stream without a token, or with an unknown one, with UNAUTHENTICATED', async (t) => {
    const server = await start(t, { tokens: [{ token, name: 'envoy' }] });
    const anonymous = open(t, server.address);
    const refused = await anonymous.status;
    assert.equal(refused.code, grpc.status.UNAUTHENTICATED);
    assert.match(refused.details, /authorization: Bearer/);
    const wrong = open(t, server.address, { metadata: bearer('not-the-xds-token-at-all') });
    const status = await wrong.status;
    assert.equal(status.code, grpc.status.UNAUTHENTICATED);
    assert.ok(!status.details.includes('not-the-xds-token-at-all'));
    assert.equal(server.streams, 0);
  });

  it('reports each refused call to onAuthRefused with its reason, and nothing for an admitted one', async (t) => {
    const reasons: XdsAuthRefusal[] = [];
    const server = await start(t, { tokens: [{ token }] }, (reason) => reasons.push(reason));
    assert.equal((await open(t, server.address).status).code, grpc.status.UNAUTHENTICATED);
    const wrong = open(t, server.address, { metadata: bearer('not-the-xds-token-at-all') });
    assert.equal((await wrong.status).code, grpc.status.UNAUTHENTICATED);
    const admitted = open(t, server.address, { metadata: bearer(token) });
    assert.equal((await admitted.next()).resources.length, 1);
    assert.deepEqual(reasons, [XdsAuthRefusal.MissingToken, XdsAuthRefusal.UnknownToken]);
  });

  it('still refuses the call when onAuthRefused throws', async (t) => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const server = await start(t, { tokens: [{ token }] }, () => {
      throw new Error('counter broke');
    });
    assert.equal((await open(t, server.address).status).code, grpc.status.UNAUTHENTICATED);
    const deadline = Date.now() + 2000;
    while (!warnings.some((w) => w.message === 'counter broke') && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(warnings.some((w) => w.message === 'counter broke'));
  });

  it('rejects an onAuthRefused that is not a function, naming xds.onAuthRefused', async () => {
    await assert.rejects(
      createXdsServer({ source, port: 0, onAuthRefused: 'count' as unknown as () => void }),
      (err: unknown) => {
        assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
        assert.match(err.message, /xds\.onAuthRefused: expected a function/);
        return true;
      },
    );
  });

  it('serves a stream that carries the token', async (t) => {
    const server = await start(t, { tokens: [{ token }] });
    const stream = open(t, server.address, { metadata: bearer(token) });
    const response = await stream.next();
    assert.equal(response.type_url, XdsTypeUrl.Cluster);
    assert.equal(response.resources.length, 1);
  });

  it('refuses to start on a non-loopback host without auth, naming xds.auth', async () => {
    await assert.rejects(createXdsServer({ source, host: '0.0.0.0', port: 0 }), (err: unknown) => {
      assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
      assert.match(err.message, /xds\.auth: required when the xDS server listens on 0\.0\.0\.0/);
      return true;
    });
  });

  it('with mTLS, serves a client with a certificate from the CA and refuses one without as UNAUTHENTICATED', async (t) => {
    const certs = certificates(t);
    const reasons: XdsAuthRefusal[] = [];
    const server = await start(t, { tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca } }, (reason) =>
      reasons.push(reason),
    );
    const withCert = open(t, server.address, { credentials: tlsCredentials(certs, certs.client) });
    assert.equal((await withCert.next()).resources.length, 1);
    assert.equal(server.streams, 1);
    const untrusted = [
      ['no certificate', undefined],
      ['a certificate from another CA', certs.stranger],
      ['an expired certificate', certs.expired],
    ] as const;
    for (const [name, client] of untrusted) {
      const refused = open(t, server.address, { credentials: tlsCredentials(certs, client) });
      const status = await refused.status;
      assert.equal(status.code, grpc.status.UNAUTHENTICATED, name);
      assert.match(status.details, /client certificate signed by the configured CA/);
    }
    assert.deepEqual(reasons, [
      XdsAuthRefusal.UntrustedCertificate,
      XdsAuthRefusal.UntrustedCertificate,
      XdsAuthRefusal.UntrustedCertificate,
    ]);
    assert.equal(server.streams, 1);
    // The listener speaks only TLS: a plaintext client never reaches a call.
    const plaintext = open(t, server.address);
    assert.equal((await plaintext.status).code, grpc.status.UNAVAILABLE);
    assert.equal(reasons.length, 3);
  });

  it('with mTLS and tokens, needs both, checking the certificate first', async (t) => {
    const certs = certificates(t);
    const reasons: XdsAuthRefusal[] = [];
    const server = await start(
      t,
      { tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca }, tokens: [{ token }] },
      (reason) => reasons.push(reason),
    );
    const certOnly = open(t, server.address, { credentials: tlsCredentials(certs, certs.client) });
    const certOnlyStatus = await certOnly.status;
    assert.equal(certOnlyStatus.code, grpc.status.UNAUTHENTICATED);
    assert.match(certOnlyStatus.details, /authorization: Bearer/);
    const tokenOnly = open(t, server.address, { credentials: tlsCredentials(certs), metadata: bearer(token) });
    assert.equal((await tokenOnly.status).code, grpc.status.UNAUTHENTICATED);
    const strangerWithToken = open(t, server.address, {
      credentials: tlsCredentials(certs, certs.stranger),
      metadata: bearer(token),
    });
    assert.equal((await strangerWithToken.status).code, grpc.status.UNAUTHENTICATED);
    const both = open(t, server.address, { credentials: tlsCredentials(certs, certs.client), metadata: bearer(token) });
    assert.equal((await both.next()).resources.length, 1);
    assert.deepEqual(reasons, [
      XdsAuthRefusal.MissingToken,
      XdsAuthRefusal.UntrustedCertificate,
      XdsAuthRefusal.UntrustedCertificate,
    ]);
  });
});
