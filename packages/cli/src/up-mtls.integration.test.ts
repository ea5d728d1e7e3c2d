/**
 * `switchyard up` with `mtls:`: a local CA issues the gateway and every instance a short-lived
 * SPIFFE certificate; the gateway and the services call each other over mutual TLS, refuse
 * callers that are not allowed, and rotate certificates without failing a request.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { createLocalCa, type IssuedWorkload } from '@switchyard/mesh';
import { parseConfig } from './load-config.ts';
import { startSystem } from './system.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-up-mtls-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TD = 'switchyard.local';
const idOf = (service: string) => `spiffe://${TD}/ns/default/sa/${service}`;

// One source for both services: it answers with the caller's SPIFFE ID and certificate serial;
// `front` also calls `echo` through the resilient client, with the identity `up` handed it.
const serviceSource = `
import { createHttpClient } from '@switchyard/client';
import { consulSource, createDiscoveryClient } from '@switchyard/discovery';
import { peerSpiffeId, serviceMtlsFromEnv, startService } from '@switchyard/service';
const mtls = await serviceMtlsFromEnv();
const discovery = createDiscoveryClient({ source: consulSource({ url: process.env.SWITCHYARD_REGISTRY_URL }) });
const client = createHttpClient({ discovery, mtls: { identity: mtls.identity } });
await startService({
  name: process.env.SWITCHYARD_SERVICE_NAME,
  mtls,
  logger: { info() {}, warn() {}, error() {} },
  onClose: async () => { await client.close(); discovery.close(); mtls.identity.close(); },
  handler: async (req, res) => {
    const reply = { peer: peerSpiffeId(req) ?? null, peerSerial: req.socket.getPeerCertificate().serialNumber };
    if (process.env.SWITCHYARD_SERVICE_NAME === 'front') {
      const answer = await client.request('echo', { path: '/who' });
      reply.echo = await answer.body.json();
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(reply));
  },
});
`;

interface Reply {
  peer: string | null;
  peerSerial: string;
  echo?: Reply;
}

/** One HTTPS request on a fresh connection with the given client certificate (or none). */
function call(
  url: string,
  tls: { ca: string; cert?: string; key?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${url}/who`, { agent: false, ...tls, servername: 'localhost' }, (res) => {
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

/** The serial number of the certificate an instance presents now. */
function serverSerial(url: string, client: IssuedWorkload): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: hostname,
        port: Number(port),
        ca: client.caPem,
        cert: client.certPem,
        key: client.keyPem,
        servername: 'localhost',
      },
      () => {
        const serial = socket.getPeerCertificate().serialNumber;
        socket.end();
        resolve(serial);
      },
    );
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
    socket.on('error', reject);
  });
}

describe('switchyard up: mtls', () => {
  it('calls services over mutual TLS, refuses other callers and rotates without a failed request', async (t) => {
    const dataDir = join(dir, 'data');
    const service = (name: string, extra = '') =>
      `  ${name}: { command: [node, --input-type=module, -e, ${JSON.stringify(serviceSource)}], cwd: ${JSON.stringify(import.meta.dirname)}${extra} }`;
    const yaml = [
      'version: 1',
      `dataDir: ${JSON.stringify(dataDir)}`,
      'startupTimeout: 20s',
      'shutdownTimeout: 3s',
      'registry: { port: 0 }',
      'admin: false',
      'gateway: { port: 0, routes: [{ path: /echo, service: echo }, { path: /front, service: front }] }',
      // Renewed every second: several rotations while the test runs.
      'mtls: { ttl: 2s, renewAt: 0.5 }',
      'services:',
      service('echo'),
      // front calls echo: by default echo accepts the gateway and the services depending on it.
      service('front', ', dependsOn: [echo]'),
    ].join('\n');
    const path = join(dir, 'switchyard.yaml');
    writeFileSync(path, yaml);
    let output = '';
    const system = await startSystem(
      { ...parseConfig(yaml, path, {}), path, baseDir: dir },
      { write: (text) => (output += text), colour: false },
    );
    t.after(() => system.stop());
    const urlOf = (instance: string): string => {
      const url = system.rows.find((row) => row.instance === instance)?.url ?? '';
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/, `${instance} registered over https (${output})`);
      return url;
    };
    const echoUrl = urlOf('echo-1');
    const frontUrl = urlOf('front-1');

    // The root stays in the data dir, its key readable by the owner only.
    assert.equal(statSync(join(dataDir, 'ca', 'root-key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'mtls', 'echo-1', 'key.pem')).mode & 0o777, 0o600);
    const ca = await createLocalCa({ trustDomain: TD, dir: join(dataDir, 'ca') });
    assert.equal(ca.loaded, true);
    // Expires a second after issue: used last, once it has.
    const shortLived = await ca.issueWorkload({ serviceAccount: 'echo', ttl: '1s' });

    // Through the gateway: the service sees the gateway's SPIFFE ID.
    const viaGateway = await fetch(`${system.gatewayUrl}/echo`);
    assert.equal(viaGateway.status, 200);
    assert.equal(((await viaGateway.json()) as Reply).peer, idOf('gateway'));
    // Service to service with the resilient client: echo sees front.
    const chained = (await (await fetch(`${system.gatewayUrl}/front`)).json()) as Reply;
    assert.equal(chained.peer, idOf('gateway'));
    assert.equal(chained.echo?.peer, idOf('front'));

    // Refused: plain HTTP, no certificate, another CA, a SPIFFE ID not allowed.
    await assert.rejects(fetch(`${echoUrl.replace('https:', 'http:')}/who`));
    await assert.rejects(call(echoUrl, { ca: ca.rootCertPem }));
    const otherCa = await createLocalCa({ trustDomain: TD });
    const foreign = await otherCa.issueWorkload({ serviceAccount: 'gateway' });
    await assert.rejects(call(echoUrl, { ca: ca.rootCertPem, cert: foreign.certPem, key: foreign.keyPem }));
    const intruder = await ca.issueWorkload({ serviceAccount: 'intruder' });
    const notAllowed = await call(echoUrl, { ca: ca.rootCertPem, cert: intruder.certPem, key: intruder.keyPem });
    assert.equal(notAllowed.status, 403);
    assert.equal(JSON.parse(notAllowed.body).error.code, 'SY_SERVICE_PEER_NOT_ALLOWED');
    // front did not declare echo as a caller: echo's identity may not call front.
    const echoAsCaller = await ca.issueWorkload({ serviceAccount: 'echo' });
    const reverse = await call(frontUrl, { ca: ca.rootCertPem, cert: echoAsCaller.certPem, key: echoAsCaller.keyPem });
    assert.equal(reverse.status, 403);
    assert.match(
      JSON.parse(reverse.body).error.message,
      /spiffe:\/\/switchyard\.local\/ns\/default\/sa\/echo is not allowed/,
    );

    // A steady stream through gateway -> front -> echo across certificate renewals.
    const certBefore = readFileSync(join(dataDir, 'mtls', 'echo-1', 'cert.pem'), 'utf8');
    const serialBefore = await serverSerial(echoUrl, intruder);
    const gatewaySerials = new Set<string>();
    const frontSerials = new Set<string>();
    const failures: string[] = [];
    let requests = 0;
    const until = Date.now() + 2600;
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        while (Date.now() < until) {
          requests++;
          try {
            const res = await fetch(`${system.gatewayUrl}/front`);
            const text = await res.text();
            if (res.status !== 200) {
              failures.push(`${res.status} ${text}`);
              continue;
            }
            const reply = JSON.parse(text) as Reply;
            gatewaySerials.add(reply.peerSerial);
            if (reply.echo !== undefined) frontSerials.add(reply.echo.peerSerial);
          } catch (err) {
            failures.push(String(err));
          }
        }
      }),
    );
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
    assert.ok(requests > 20, `a steady stream (${requests} requests)`);
    assert.ok(gatewaySerials.size >= 2, `the gateway presented renewed certificates (${gatewaySerials.size})`);
    assert.ok(frontSerials.size >= 2, `front presented renewed certificates to echo (${frontSerials.size})`);
    assert.notEqual(readFileSync(join(dataDir, 'mtls', 'echo-1', 'cert.pem'), 'utf8'), certBefore);
    assert.notEqual(await serverSerial(echoUrl, intruder), serialBefore, 'echo serves its renewed certificate');

    // By now the 1-second certificate has expired: refused in the handshake.
    assert.ok(Date.parse(new X509Certificate(shortLived.certPem).validTo) < Date.now());
    await assert.rejects(call(echoUrl, { ca: ca.rootCertPem, cert: shortLived.certPem, key: shortLived.keyPem }));
  });

  it('refuses allow rules naming unknown services or foreign trust domains, by field path', () => {
    const yaml = [
      'version: 1',
      'gateway: { port: 0, routes: [{ path: /a, service: a }] }',
      'mtls: { trustDomain: shop.local, allow: { b: [gateway], a: [nobody, "spiffe://other.local/ns/x/sa/y"] } }',
      'services:',
      '  a: { command: node a.js }',
    ].join('\n');
    assert.throws(
      () => parseConfig(yaml, join(dir, 'bad.yaml'), {}),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'SY_CONFIG_INVALID');
        assert.match(err.message, /mtls\.allow\.b: expected a service declared in services: \(a\)/);
        assert.match(err.message, /mtls\.allow\.a\[0\]: "nobody": expected "gateway", a declared service \(a\)/);
        assert.match(
          err.message,
          /mtls\.allow\.a\[1\]: "spiffe:\/\/other\.local\/ns\/x\/sa\/y" is not in the trust domain "shop\.local"/,
        );
        return true;
      },
    );
  });
});
