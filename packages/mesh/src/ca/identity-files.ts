import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkloadIdentity } from '@switchyard/core';
import { writeAtomically } from './local-ca.ts';

/** The files {@link writeIdentityFiles} writes, ready for `identityFromFiles` of `@switchyard/service`. */
export interface IdentityFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/**
 * Writes an identity as `cert.pem`, `key.pem` (mode 0600) and `ca.pem` in `dir` (created with
 * mode 0700), each through a rename, for a process that reads them with `identityFromFiles`
 * of `@switchyard/service` (which `startService` does from the `SWITCHYARD_TLS_*_FILE`
 * variables). Call it again with each renewal (`identity.onRotate`).
 *
 * The reader lives in `@switchyard/service` because services may not depend on this package;
 * the writer stays here, beside the CA that issues what it writes.
 *
 * @example
 * ```ts
 * const orders = await ca.workloadIdentity({ serviceAccount: 'orders' });
 * const files = await writeIdentityFiles('.switchyard/data/orders-1/tls', orders.current());
 * orders.onRotate((next) => void writeIdentityFiles('.switchyard/data/orders-1/tls', next));
 * ```
 */
export async function writeIdentityFiles(
  dir: string,
  identity: Pick<WorkloadIdentity, 'certPem' | 'keyPem' | 'caPem'>,
): Promise<IdentityFiles> {
  const files = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), caFile: join(dir, 'ca.pem') };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The CA first, so a reader never holds a certificate whose issuer it does not trust yet;
  // a reader seeing the new certificate with the old key skips that read (the pair is checked).
  await writeAtomically(files.caFile, identity.caPem, 0o644);
  await writeAtomically(files.keyFile, identity.keyPem, 0o600);
  await writeAtomically(files.certFile, identity.certPem, 0o644);
  return files;
}
