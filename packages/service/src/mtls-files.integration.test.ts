import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock } from '@switchyard/core';
import { createLocalCa, writeAtomically, writeIdentityFiles } from '@switchyard/mesh';
import { identityFromFiles, MtlsEnv, serviceMtlsFromEnv } from './mtls-files.ts';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sy-svc-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown }).code;
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('identityFromFiles', () => {
  it('reads the files and follows their renewal, skipping a half-written set', async (t) => {
    const dir = await tempDir(t);
    const ca = await createLocalCa({ trustDomain: 'td' });
    const first = await ca.issueWorkload({ serviceAccount: 'orders' });
    const files = await writeIdentityFiles(join(dir, 'tls'), first);
    const identity = await identityFromFiles({ ...files, pollInterval: '20ms' });
    t.after(() => identity.close());
    assert.equal(identity.current().spiffeId, 'spiffe://td/ns/default/sa/orders');
    assert.equal(identity.current().keyPem, first.keyPem);

    const errors: Error[] = [];
    identity.onError((err) => errors.push(err));
    const second = await ca.issueWorkload({ serviceAccount: 'orders' });
    // The certificate alone first: it does not match the key on disk, so it is not taken.
    await writeAtomically(files.certFile, second.certPem, 0o644);
    await waitFor(() => errors.length > 0, 'the half-written set to be reported');
    assert.equal(codeOf(errors[0]), 'SY_SERVICE_IDENTITY_RELOAD_FAILED');
    assert.match(errors[0]?.message ?? '', /is not the key of/);
    assert.equal(identity.current().certPem, first.certPem);

    const rotated = new Promise<string>((resolve) => identity.onRotate((i) => resolve(i.certPem)));
    await writeAtomically(files.keyFile, second.keyPem, 0o600);
    assert.equal(await rotated, second.certPem);
    assert.equal(identity.current().keyPem, second.keyPem);
  });

  it('fails at start on files that are not an identity', async (t) => {
    const dir = await tempDir(t);
    const ca = await createLocalCa({ trustDomain: 'td' });
    const leaf = await ca.issueWorkload({ serviceAccount: 'a' });
    const files = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), caFile: join(dir, 'ca.pem') };
    await assert.rejects(identityFromFiles(files), (err: unknown) => {
      assert.equal(codeOf(err), 'SY_SERVICE_IDENTITY_INVALID');
      assert.match((err as Error).message, /cannot read .*cert\.pem/);
      return true;
    });
    await writeFile(files.certFile, ca.rootCertPem);
    await writeFile(files.keyFile, leaf.keyPem);
    await writeFile(files.caFile, ca.rootCertPem);
    await assert.rejects(identityFromFiles(files), /is not the key of/);
    await writeFile(files.certFile, leaf.certPem);
    await writeFile(files.keyFile, 'garbage');
    await assert.rejects(identityFromFiles(files), /is not a PEM private key/);

    const pastClock = new ManualClock(Date.now() - 3 * 3_600_000);
    const oldCa = await createLocalCa({ trustDomain: 'td', clock: pastClock });
    const expired = await oldCa.issueWorkload({ serviceAccount: 'a', ttl: '1h' });
    await writeFile(files.certFile, expired.certPem);
    await writeFile(files.keyFile, expired.keyPem);
    await assert.rejects(identityFromFiles(files), /spiffe:\/\/td\/ns\/default\/sa\/a\) expired/);
  });
});

describe('serviceMtlsFromEnv', () => {
  it('is undefined without SWITCHYARD_TLS_CERT_FILE', async () => {
    assert.equal(await serviceMtlsFromEnv({}), undefined);
  });

  it('reads the identity and the allow list that switchyard up passes', async (t) => {
    const dir = await tempDir(t);
    const ca = await createLocalCa({ trustDomain: 'td' });
    const files = await writeIdentityFiles(dir, await ca.issueWorkload({ serviceAccount: 'orders' }));
    const mtls = await serviceMtlsFromEnv({
      [MtlsEnv.CertFile]: files.certFile,
      [MtlsEnv.KeyFile]: files.keyFile,
      [MtlsEnv.CaFile]: files.caFile,
      [MtlsEnv.Allow]: 'spiffe://td/ns/default/sa/gateway, spiffe://td/ns/default/sa/cart',
      [MtlsEnv.PollInterval]: '50',
    });
    t.after(() => mtls?.identity.close());
    assert.equal(mtls?.identity.current().spiffeId, 'spiffe://td/ns/default/sa/orders');
    assert.deepEqual(mtls?.allow, ['spiffe://td/ns/default/sa/gateway', 'spiffe://td/ns/default/sa/cart']);
  });

  it('names each missing or malformed variable', async () => {
    await assert.rejects(serviceMtlsFromEnv({ [MtlsEnv.CertFile]: '/x/cert.pem' }), (err: unknown) => {
      assert.equal(codeOf(err), 'SY_CONFIG_INVALID');
      const message = (err as Error).message;
      for (const name of [MtlsEnv.KeyFile, MtlsEnv.CaFile, MtlsEnv.Allow])
        assert.match(message, new RegExp(`env\\.${name}: required`));
      return true;
    });
    await assert.rejects(
      serviceMtlsFromEnv({
        [MtlsEnv.CertFile]: '/x/cert.pem',
        [MtlsEnv.KeyFile]: '/x/key.pem',
        [MtlsEnv.CaFile]: '/x/ca.pem',
        [MtlsEnv.Allow]: 'spiffe://td/ns/default/sa/gateway',
        [MtlsEnv.PollInterval]: '1s',
      }),
      /env\.SWITCHYARD_TLS_POLL_INTERVAL: expected whole milliseconds >= 1, got 1s/,
    );
  });
});
