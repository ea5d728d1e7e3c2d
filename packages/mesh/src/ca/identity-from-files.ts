import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Clock,
  parseDuration,
  spiffeIdOfSubjectAltName,
  systemClock,
  type WorkloadIdentity,
} from '@switchyard/core';
import { meshError } from '../errors.ts';
import { writeAtomically } from './local-ca.ts';
import type { RotatingIdentity } from './workload-identity.ts';
import { subscribe } from './workload-identity.ts';

/** Options of {@link identityFromFiles}. */
export interface IdentityFromFilesOptions {
  /** The workload certificate (leaf first), PEM. */
  certFile: string;
  /** Its private key, PEM. */
  keyFile: string;
  /** The CA bundle peers must chain to, PEM. */
  caFile: string;
  /** How often the files are read again. @default "1s" */
  pollInterval?: string | number;
  /** @default systemClock */
  clock?: Clock;
}

/**
 * A workload identity read from PEM files and read again every `pollInterval`: when the files
 * change into a valid identity (the key matches the certificate, which carries one SPIFFE ID
 * and has not expired), `onRotate` listeners are told. A half-written set (a new certificate
 * with the old key) is skipped until the next read; write each file through a rename. This is
 * how a process started by `switchyard up` (or given certificates by cert-manager or a SPIRE
 * helper) follows renewals without a restart.
 *
 * Polling rather than `fs.watch`: a rename replacing the file ends a watch on it on Linux, and
 * three small reads a second cost nothing.
 *
 * @throws SwitchyardError `SY_MESH_IDENTITY_INVALID` when the files do not form an identity at start
 * @example
 * ```ts
 * const identity = await identityFromFiles({
 *   certFile: process.env.SWITCHYARD_TLS_CERT_FILE,
 *   keyFile: process.env.SWITCHYARD_TLS_KEY_FILE,
 *   caFile: process.env.SWITCHYARD_TLS_CA_FILE,
 * });
 * await startService({ name: 'orders', handler, mtls: { identity, allow: ['spiffe://shop.local/ns/default/sa/gateway'] } });
 * ```
 */
export async function identityFromFiles(options: IdentityFromFilesOptions): Promise<RotatingIdentity> {
  const clock = options.clock ?? systemClock;
  const pollMs = parseDuration(options.pollInterval ?? 1000, 'pollInterval');
  const rotateListeners = new Set<(identity: WorkloadIdentity) => void>();
  const errorListeners = new Set<(error: Error) => void>();
  let texts = await readAll(options);
  let current = toIdentity(texts, options, clock.now());
  let closed = false;
  let cancelTimer: (() => void) | undefined;
  let lastProblem: string | undefined;

  async function reload(force: boolean): Promise<WorkloadIdentity> {
    const next = await readAll(options);
    if (!force && next.cert === texts.cert && next.key === texts.key && next.ca === texts.ca) return current;
    const identity = toIdentity(next, options, clock.now());
    texts = next;
    current = identity;
    lastProblem = undefined;
    for (const listener of [...rotateListeners]) {
      try {
        listener(identity);
      } catch {
        // A listener's failure must not stop the others from getting the new identity.
      }
    }
    return identity;
  }

  function poll(): void {
    if (closed) return;
    reload(false).then(
      () => arm(),
      (err: unknown) => {
        // A set caught mid-write fails once; report a problem once, not every second.
        const message = (err as Error).message;
        if (message !== lastProblem) {
          lastProblem = message;
          const error = meshError(
            'SY_MESH_IDENTITY_ROTATION_FAILED',
            `re-reading ${options.certFile} failed (${message}); ${current.spiffeId} valid until ${new Date(current.notAfter).toISOString()} stays in use`,
            { cause: err, details: { certFile: options.certFile } },
          );
          for (const listener of [...errorListeners]) {
            try {
              listener(error);
            } catch {
              // Same as above.
            }
          }
        }
        arm();
      },
    );
  }

  function arm(): void {
    if (!closed) cancelTimer = clock.setTimeout(poll, pollMs);
  }
  arm();

  const close = (): void => {
    closed = true;
    cancelTimer?.();
  };
  return {
    current: () => current,
    onRotate: (listener) => subscribe(rotateListeners, listener),
    onError: (listener) => subscribe(errorListeners, listener),
    rotate: () => reload(true),
    close,
    [Symbol.dispose]: close,
  };
}

/** The files {@link writeIdentityFiles} writes, ready for {@link identityFromFiles}. */
export interface IdentityFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/**
 * Writes an identity as `cert.pem`, `key.pem` (mode 0600) and `ca.pem` in `dir` (created with
 * mode 0700), each through a rename, for a process that reads them with
 * {@link identityFromFiles}. Call it again with each renewal (`identity.onRotate`).
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

interface Texts {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

async function readAll(options: IdentityFromFilesOptions): Promise<Texts> {
  const read = async (file: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw meshError('SY_MESH_IDENTITY_INVALID', `cannot read ${file}: ${(err as Error).message}`, {
        cause: err,
        details: { file },
      });
    }
  };
  // Read together, reported in a fixed order (certificate, key, CA): the first file in that
  // order that cannot be read is the one named, whichever read failed first.
  const [cert, key, ca] = await Promise.allSettled([
    read(options.certFile),
    read(options.keyFile),
    read(options.caFile),
  ]);
  for (const result of [cert, key, ca]) if (result.status === 'rejected') throw result.reason;
  return {
    cert: (cert as PromiseFulfilledResult<string>).value,
    key: (key as PromiseFulfilledResult<string>).value,
    ca: (ca as PromiseFulfilledResult<string>).value,
  };
}

function toIdentity(texts: Texts, options: IdentityFromFilesOptions, now: number): WorkloadIdentity {
  const invalid = (message: string, cause?: unknown): Error =>
    meshError('SY_MESH_IDENTITY_INVALID', message, {
      details: { certFile: options.certFile, keyFile: options.keyFile, caFile: options.caFile },
      ...(cause === undefined ? {} : { cause }),
    });
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(texts.cert);
  } catch (err) {
    throw invalid(`${options.certFile} is not a PEM certificate: ${(err as Error).message}`, err);
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(texts.key))) {
      throw invalid(`${options.keyFile} is not the key of ${options.certFile}`);
    }
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SY_MESH_IDENTITY_INVALID') throw err;
    throw invalid(`${options.keyFile} is not a PEM private key: ${(err as Error).message}`, err);
  }
  try {
    new X509Certificate(texts.ca);
  } catch (err) {
    throw invalid(`${options.caFile} is not a PEM certificate: ${(err as Error).message}`, err);
  }
  const spiffeId = spiffeIdOfSubjectAltName(cert.subjectAltName);
  if (spiffeId === undefined) {
    throw invalid(
      `${options.certFile} does not carry exactly one SPIFFE ID URI SAN (${cert.subjectAltName ?? 'no SAN'})`,
    );
  }
  const notAfter = Date.parse(cert.validTo);
  if (notAfter <= now) throw invalid(`${options.certFile} (${spiffeId}) expired at ${cert.validTo}`);
  return { certPem: texts.cert, keyPem: texts.key, caPem: texts.ca, spiffeId, notAfter };
}
