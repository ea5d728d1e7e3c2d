import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { createHttpClient } from '@switchyard/client';
import { type Clock, type ServiceInstance, systemClock, type WorkloadIdentity } from '@switchyard/core';
import type { ServiceRegistration } from '@switchyard/discovery';
import { createLocalCa, type LocalCa } from '@switchyard/mesh';
import { peerSpiffeId } from './mtls.ts';
import { type RunningService, startService } from './start-service.ts';

const TD = 'test.local';
const silent = { info() {}, warn() {}, error() {} };

interface Reply {
  status: number;
  body: string;
}

/** One HTTPS request on a fresh connection, with the given client certificate (or none). */
function call(port: number, tls: { caPem: string; certPem?: string; keyPem?: string }): Promise<Reply> {
  const options = {
    ca: tls.caPem,
    ...(tls.certPem === undefined ? {} : { cert: tls.certPem }),
    ...(tls.keyPem === undefined ? {} : { key: tls.keyPem }),
  };
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/who', agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Connects without sending anything and resolves with the TLS alert that ends the connection,
 * or `"closed"` when the server closes it without one (Node does so for a certificate that
 * does not verify). With TLS 1.3 the server judges the client certificate after the client
 * considers the handshake done: a request written meanwhile could meet a reset instead.
 */
function refusal(port: number, tls: { caPem: string; certPem?: string; keyPem?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: tls.caPem,
      ...(tls.certPem === undefined ? {} : { cert: tls.certPem, key: tls.keyPem }),
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('the server kept the connection open')));
    socket.on('error', (err: Error & { code?: string }) => resolve(err.code ?? err.message));
    socket.on('data', () => reject(new Error('the server answered')));
    socket.on('close', () => resolve('closed'));
  });
}

/** The serial number of the certificate the server presents to a new connection. */
function presentedSerial(port: number, client: WorkloadIdentity): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect(
      { host: '127.0.0.1', port, ca: client.caPem, cert: client.certPem, key: client.keyPem, servername: 'localhost' },
      () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.destroy();
      },
    );
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
    socket.on('error', reject);
  });
}

function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber;
}

function instanceOf(service: RunningService, meta: Record<string, string>): ServiceInstance {
  return {
    id: service.id,
    service: service.name,
    address: '127.0.0.1',
    port: service.port,
    tags: [],
    meta,
    status: 'passing',
    weight: 1,
  };
}

async function caInTempDir(
  t: { after(fn: () => Promise<void>): void },
  clock?: Clock,
): Promise<{ ca: LocalCa; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sy-mtls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { ca: await createLocalCa({ trustDomain: TD, dir, ...(clock === undefined ? {} : { clock }) }), dir };
}

describe('startService({ mtls })', () => {
  it('admits allowed SPIFFE IDs and refuses the rest, by TLS or by 403', async (t) => {
    // A CA that lived two hours ago issues a certificate that has expired by now; the CA of
    // the test is the same root, loaded from the directory it saved it in.
    const past: Clock = { now: () => Date.now() - 2 * 3_600_000, setTimeout: systemClock.setTimeout };
    const { ca: pastCa, dir } = await caInTempDir(t, past);
    const expired = await pastCa.issueWorkload({ serviceAccount: 'gateway', ttl: '1h' });
    const ca = await createLocalCa({ trustDomain: TD, dir });
    assert.equal(ca.loaded, true);
    assert.equal(ca.rootCertPem, pastCa.rootCertPem);

    const identity = await ca.workloadIdentity({ serviceAccount: 'orders' });
    t.after(() => identity.close());
    const refusedReasons: unknown[] = [];
    const logger = {
      ...silent,
      warn: (obj: object, msg?: string) => {
        if (msg === 'mtls peer refused') refusedReasons.push((obj as { reason?: unknown }).reason);
      },
    };
    const registrations: ServiceRegistration[] = [];
    const service = await startService({
      name: 'orders',
      handler: (req, res) => res.end(peerSpiffeId(req)),
      handleSignals: false,
      logger,
      registrationClient: {
        register: async (registration) => {
          registrations.push(registration);
        },
        deregister: async () => true,
        passTtl: async () => {},
      },
      mtls: { identity, allow: [`spiffe://${TD}/ns/default/sa/gateway`, `spiffe://${TD}/ns/jobs/sa/*`] },
    });
    t.after(() => service.close());
    assert.match(service.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(registrations[0]?.Meta?.scheme, 'https');
    assert.equal(registrations[0]?.Check?.TTL, '10s');

    const gateway = await ca.issueWorkload({ serviceAccount: 'gateway' });
    assert.deepEqual(await call(service.port, gateway), { status: 200, body: `spiffe://${TD}/ns/default/sa/gateway` });
    const nightly = await ca.issueWorkload({ namespace: 'jobs', serviceAccount: 'nightly' });
    assert.deepEqual(await call(service.port, nightly), { status: 200, body: `spiffe://${TD}/ns/jobs/sa/nightly` });

    const billing = await ca.issueWorkload({ serviceAccount: 'billing' });
    const refused = await call(service.port, billing);
    assert.equal(refused.status, 403);
    assert.deepEqual(JSON.parse(refused.body).error.code, 'SY_SERVICE_PEER_NOT_ALLOWED');
    assert.equal(JSON.parse(refused.body).error.spiffeId, `spiffe://${TD}/ns/default/sa/billing`);
    assert.match(JSON.parse(refused.body).error.message, /billing is not allowed to call this service/);

    assert.equal(await refusal(service.port, { caPem: ca.rootCertPem }), 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    assert.equal(await refusal(service.port, expired), 'closed');
    const otherCa = await createLocalCa({ trustDomain: TD });
    const foreign = await otherCa.issueWorkload({ serviceAccount: 'gateway' });
    assert.equal(await refusal(service.port, { ...foreign, caPem: ca.rootCertPem }), 'closed');
    await assert.rejects(call(service.port, expired), { code: 'ECONNRESET' });
    assert.deepEqual(refusedReasons, [
      'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
      'CERT_HAS_EXPIRED',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'CERT_HAS_EXPIRED',
    ]);
    // The client side refuses a server from another CA as well.
    // (The server sends its root along: OpenSSL finds it self-signed and not trusted.)
    await assert.rejects(call(service.port, { ...gateway, caPem: otherCa.rootCertPem }), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });

    // The same through the client, which finds the instance as https from its meta.
    const discovery = { instances: async () => [instanceOf(service, registrations[0]?.Meta ?? {})] };
    const gatewayIdentity = await ca.workloadIdentity({ serviceAccount: 'gateway' });
    t.after(() => gatewayIdentity.close());
    const client = createHttpClient({
      discovery,
      mtls: { identity: gatewayIdentity, expect: [`spiffe://${TD}/ns/default/sa/orders`] },
    });
    t.after(() => client.close());
    const res = await client.request('orders', { path: '/who' });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), `spiffe://${TD}/ns/default/sa/gateway`);

    const wrongServer = createHttpClient({
      discovery,
      retry: false,
      mtls: { identity: gatewayIdentity, expect: [`spiffe://${TD}/ns/default/sa/payments`] },
    });
    t.after(() => wrongServer.close());
    await assert.rejects(wrongServer.request('orders', { path: '/who' }), (err: unknown) => {
      assert.equal((err as { code?: unknown }).code, 'SY_CLIENT_CONNECT_FAILED');
      assert.match(
        (err as Error).message,
        /presented spiffe:\/\/test\.local\/ns\/default\/sa\/orders, not one of .*payments/,
      );
      return true;
    });

    const billingIdentity = await ca.workloadIdentity({ serviceAccount: 'billing' });
    t.after(() => billingIdentity.close());
    const billingClient = createHttpClient({ discovery, mtls: { identity: billingIdentity } });
    t.after(() => billingClient.close());
    const forbidden = await billingClient.request('orders', { path: '/who' });
    assert.equal(forbidden.statusCode, 403);
    assert.equal(
      ((await forbidden.body.json()) as { error: { code: string } }).error.code,
      'SY_SERVICE_PEER_NOT_ALLOWED',
    );
  });

  it('rotates certificates on both sides under a steady request loop without failing a request', async (t) => {
    const ca = await createLocalCa({ trustDomain: TD, workloadTtl: '3s' });
    const serverIdentity = await ca.workloadIdentity({ serviceAccount: 'orders', renewAt: 1 / 3 });
    const clientIdentity = await ca.workloadIdentity({ serviceAccount: 'gateway', renewAt: 1 / 3 });
    t.after(() => {
      serverIdentity.close();
      clientIdentity.close();
    });
    const clientSerials = new Set<string>();
    const service = await startService({
      name: 'orders',
      handler: (req, res) => {
        clientSerials.add((req.socket as TLSSocket).getPeerCertificate().serialNumber);
        res.end('ok');
      },
      handleSignals: false,
      logger: silent,
      mtls: { identity: serverIdentity, allow: [`spiffe://${TD}/ns/default/sa/gateway`] },
    });
    t.after(() => service.close());
    const discovery = { instances: async () => [instanceOf(service, { scheme: 'https' })] };
    const client = createHttpClient({ discovery, retry: false, mtls: { identity: clientIdentity } });
    t.after(() => client.close());

    const serverRotations: string[] = [];
    serverIdentity.onRotate((next) => serverRotations.push(next.certPem));
    let failures = 0;
    let ok = 0;
    const errors: unknown[] = [];
    const started = Date.now();
    // Two callers, 200 requests over about 4 s.
    await Promise.all(
      [0, 1].map(async () => {
        for (let i = 0; i < 100; i++) {
          try {
            const res = await client.request('orders', { path: '/', timeout: '2s' });
            await res.body.text();
            if (res.statusCode === 200) ok++;
            else failures++;
          } catch (err) {
            failures++;
            errors.push(err);
          }
          await new Promise((resolve) => setTimeout(resolve, 40));
        }
      }),
    );
    assert.deepEqual(errors.map(String), []);
    assert.equal(failures, 0);
    assert.equal(ok, 200);
    const elapsed = Date.now() - started;
    assert.ok(elapsed > 3000, `the loop ran ${elapsed}ms, shorter than the certificates' lifetime`);
    assert.ok(serverRotations.length >= 2, `server rotated ${serverRotations.length} times`);
    // New connections of the client presented its new certificates.
    assert.ok(clientSerials.size >= 3, `the server saw ${clientSerials.size} client certificates`);
    // A new connection gets the server's current certificate.
    const current = serverIdentity.current();
    assert.equal(await presentedSerial(service.port, clientIdentity.current()), serialOf(current.certPem));
    assert.equal(current.certPem, serverRotations.at(-1));
  });

  it('names the field of bad mtls options', async () => {
    const ca = await createLocalCa({ trustDomain: TD });
    const identity = await ca.workloadIdentity({ serviceAccount: 'orders' });
    await assert.rejects(
      startService({
        name: 'orders',
        handler: () => {},
        handleSignals: false,
        logger: silent,
        mtls: { identity, allow: [`spiffe://${TD}/ns/default/sa/ok`, 'spiffe://Bad/ns/x'] },
      }),
      /service\.mtls\.allow\[1\]: "spiffe:\/\/Bad\/ns\/x": the trust domain "Bad" may only contain lowercase/,
    );
    await assert.rejects(
      startService({
        name: 'orders',
        handler: () => {},
        handleSignals: false,
        logger: silent,
        mtls: { identity, allow: [] },
      }),
      /service\.mtls\.allow: expected a non-empty list/,
    );
    await assert.rejects(
      startService({
        name: 'orders',
        handler: () => {},
        handleSignals: false,
        logger: silent,
        check: { type: 'http' },
        mtls: { identity, allow: [`spiffe://${TD}/ns/*/sa/*`] },
      }),
      /service\.check\.type: an HTTP check cannot reach a service that requires client certificates/,
    );
    identity.close();
  });
});
