import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock } from '@switchyard/core';
import { writeIdentityFiles } from './identity-files.ts';
import { CA_ROOT_CERT_FILE, CA_ROOT_KEY_FILE, createLocalCa } from './local-ca.ts';
import { workloadIdentity } from './workload-identity.ts';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sy-ca-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown }).code;
}

describe('createLocalCa', () => {
  it('issues a short-lived SPIFFE X.509-SVID signed by a P-256 root', async () => {
    const ca = await createLocalCa({ trustDomain: 'shop.local', workloadTtl: '10m' });
    const root = new X509Certificate(ca.rootCertPem);
    assert.equal(root.ca, true);
    assert.equal(root.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.match(root.subjectAltName ?? '', /URI:spiffe:\/\/shop\.local/);

    const leaf = await ca.issueWorkload({ serviceAccount: 'orders' });
    assert.equal(leaf.spiffeId, 'spiffe://shop.local/ns/default/sa/orders');
    const cert = new X509Certificate(leaf.certPem);
    assert.equal(cert.ca, false);
    assert.equal(cert.verify(root.publicKey), true);
    assert.equal(cert.checkIssued(root), true);
    assert.equal(
      cert.subjectAltName,
      'URI:spiffe://shop.local/ns/default/sa/orders, DNS:orders, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']); // serverAuth, clientAuth
    const lifetime = Date.parse(cert.validTo) - Date.now();
    assert.ok(lifetime > 9 * 60_000 && lifetime <= 10 * 60_000, `lifetime ${lifetime}`);
    assert.equal(leaf.notAfter, Date.parse(cert.validTo));
    assert.equal(leaf.caPem, ca.rootCertPem);
    assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----/);

    const jobs = await ca.issueWorkload({
      namespace: 'jobs',
      serviceAccount: 'nightly',
      dnsNames: ['nightly.jobs'],
      ipAddresses: ['10.0.0.7'],
      ttl: '30s',
    });
    assert.equal(
      new X509Certificate(jobs.certPem).subjectAltName,
      'URI:spiffe://shop.local/ns/jobs/sa/nightly, DNS:nightly.jobs, IP Address:10.0.0.7',
    );
    assert.notEqual(jobs.serialNumber, leaf.serialNumber);
  });

  it('names the field of bad options', async () => {
    await assert.rejects(createLocalCa({ trustDomain: 'Shop.Local' }), (err: unknown) => {
      assert.equal(codeOf(err), 'SY_CONFIG_INVALID');
      assert.match(
        (err as Error).message,
        /ca\.trustDomain: the trust domain "Shop\.Local" may only contain lowercase/,
      );
      return true;
    });
    await assert.rejects(
      createLocalCa({ trustDomain: 'td', workloadTtl: '10ms' }),
      /ca\.workloadTtl: expected at least 1s/,
    );
    const ca = await createLocalCa({ trustDomain: 'td' });
    await assert.rejects(
      ca.issueWorkload({ serviceAccount: 'a/b' }),
      /ca\.issueWorkload\.serviceAccount: expected letters/,
    );
    await assert.rejects(ca.issueWorkload({ namespace: '..', serviceAccount: 'a' }), /ca\.issueWorkload\.namespace/);
    await assert.rejects(
      ca.issueWorkload({ serviceAccount: 'a', ipAddresses: ['localhost'] }),
      /ipAddresses\[0\]: expected an IPv4/,
    );
  });

  it('persists its root with a 0600 key and loads it again', async (t) => {
    const dir = join(await tempDir(t), 'ca');
    const first = await createLocalCa({ trustDomain: 'shop.local', dir });
    assert.equal(first.loaded, false);
    assert.equal((await stat(join(dir, CA_ROOT_KEY_FILE))).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal(await readFile(join(dir, CA_ROOT_CERT_FILE), 'utf8'), first.rootCertPem);

    const again = await createLocalCa({ trustDomain: 'shop.local', dir });
    assert.equal(again.loaded, true);
    assert.equal(again.rootCertPem, first.rootCertPem);
    // A certificate from the reloaded CA chains to the first root: workloads need not restart.
    const leaf = await again.issueWorkload({ serviceAccount: 'orders' });
    assert.equal(new X509Certificate(leaf.certPem).verify(new X509Certificate(first.rootCertPem).publicKey), true);

    await assert.rejects(createLocalCa({ trustDomain: 'other.local', dir }), (err: unknown) => {
      assert.equal(codeOf(err), 'SY_MESH_CA_LOAD_FAILED');
      assert.match((err as Error).message, /root of spiffe:\/\/shop\.local, not spiffe:\/\/other\.local/);
      return true;
    });
  });

  it('refuses a half or mismatched root in its directory', async (t) => {
    const dir = await tempDir(t);
    const a = await createLocalCa({ trustDomain: 'td', dir: join(dir, 'a') });
    await createLocalCa({ trustDomain: 'td', dir: join(dir, 'b') });
    await rm(join(dir, 'a', CA_ROOT_KEY_FILE));
    await assert.rejects(createLocalCa({ trustDomain: 'td', dir: join(dir, 'a') }), (err: unknown) => {
      assert.equal(codeOf(err), 'SY_MESH_CA_LOAD_FAILED');
      assert.match((err as Error).message, /root-key\.pem is missing/);
      return true;
    });
    await writeFile(join(dir, 'a', CA_ROOT_KEY_FILE), await readFile(join(dir, 'b', CA_ROOT_KEY_FILE), 'utf8'));
    await assert.rejects(createLocalCa({ trustDomain: 'td', dir: join(dir, 'a') }), /does not match the certificate/);
    await writeFile(join(dir, 'a', CA_ROOT_CERT_FILE), 'not a certificate');
    await assert.rejects(createLocalCa({ trustDomain: 'td', dir: join(dir, 'a') }), { code: 'SY_MESH_CA_LOAD_FAILED' });
    assert.ok(a.rootCertPem.length > 0);
  });

  it('refuses to issue once the root has expired, and never issues past the root', async (t) => {
    const dir = await tempDir(t);
    const clock = new ManualClock(Date.now());
    const ca = await createLocalCa({ trustDomain: 'td', dir, rootTtl: '1h', workloadTtl: '50m', clock });
    clock.advance(30 * 60_000);
    const leaf = await ca.issueWorkload({ serviceAccount: 'a' });
    assert.equal(leaf.notAfter, ca.rootNotAfter);
    clock.advance(31 * 60_000);
    await assert.rejects(ca.issueWorkload({ serviceAccount: 'a' }), { code: 'SY_MESH_CA_ROOT_EXPIRED' });
    await assert.rejects(createLocalCa({ trustDomain: 'td', dir, clock }), { code: 'SY_MESH_CA_ROOT_EXPIRED' });
  });
});

describe('workloadIdentity', () => {
  it('renews at 2/3 of the lifetime and tells subscribers', async () => {
    const clock = new ManualClock(Date.now());
    const ca = await createLocalCa({ trustDomain: 'td', workloadTtl: '90s', clock });
    const identity = await ca.workloadIdentity({ serviceAccount: 'orders' });
    const first = identity.current();
    const seen: string[] = [];
    const rotated = new Promise<void>((resolve) => {
      identity.onRotate((next) => {
        seen.push(next.certPem);
        resolve();
      });
    });
    clock.advance(59_000);
    assert.equal(seen.length, 0);
    clock.advance(1_000);
    await rotated;
    assert.equal(identity.current().certPem, seen[0]);
    assert.notEqual(identity.current().certPem, first.certPem);
    assert.equal(identity.current().spiffeId, 'spiffe://td/ns/default/sa/orders');
    identity.close();
    assert.equal(clock.pending, 0);
  });

  it('keeps the current identity and retries when renewal fails', async () => {
    const clock = new ManualClock(0);
    let calls = 0;
    const make = async () => {
      calls++;
      if (calls === 2) throw new Error('CA unreachable');
      return {
        certPem: `c${calls}`,
        keyPem: 'k',
        caPem: 'ca',
        spiffeId: 'spiffe://td/a',
        notAfter: 3000 + calls * 3000,
      };
    };
    const identity = await workloadIdentity(make, { clock, renewAt: 0.5, retryDelay: '100ms' });
    const errors: Error[] = [];
    identity.onError((err) => errors.push(err));
    const next = new Promise<string>((resolve) => identity.onRotate((i) => resolve(i.certPem)));
    clock.advance(3000); // renewal at half of 6000 ms: fails
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(errors.length, 1);
    assert.equal(codeOf(errors[0]), 'SY_MESH_IDENTITY_ROTATION_FAILED');
    assert.match(errors[0]?.message ?? '', /CA unreachable.*stays in use/);
    assert.equal(identity.current().certPem, 'c1');
    clock.advance(100);
    assert.equal(await next, 'c3');
    identity.close();
  });

  it('refuses renewAt outside (0, 1)', async () => {
    await assert.rejects(
      workloadIdentity(async () => ({ certPem: '', keyPem: '', caPem: '', spiffeId: '', notAfter: 0 }), { renewAt: 1 }),
      /workloadIdentity\.renewAt: expected a fraction/,
    );
  });
});

describe('writeIdentityFiles', () => {
  it('writes cert, key (0600) and CA in a 0700 directory, replacing them on renewal', async (t) => {
    const dir = await tempDir(t);
    const ca = await createLocalCa({ trustDomain: 'td' });
    const first = await ca.issueWorkload({ serviceAccount: 'orders' });
    const files = await writeIdentityFiles(join(dir, 'tls'), first);
    assert.deepEqual(files, {
      certFile: join(dir, 'tls', 'cert.pem'),
      keyFile: join(dir, 'tls', 'key.pem'),
      caFile: join(dir, 'tls', 'ca.pem'),
    });
    assert.equal((await stat(files.keyFile)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'tls'))).mode & 0o777, 0o700);
    assert.equal(await readFile(files.certFile, 'utf8'), first.certPem);
    assert.equal(await readFile(files.caFile, 'utf8'), ca.rootCertPem);

    const second = await ca.issueWorkload({ serviceAccount: 'orders' });
    await writeIdentityFiles(join(dir, 'tls'), second);
    assert.equal(await readFile(files.certFile, 'utf8'), second.certPem);
    assert.equal(await readFile(files.keyFile, 'utf8'), second.keyPem);
    assert.equal((await stat(files.keyFile)).mode & 0o777, 0o600);
  });
});
