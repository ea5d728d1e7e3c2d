import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type Clock,
  type IdentitySubscription,
  invalidConfig,
  parseDuration,
  spiffeIdOfSubjectAltName,
  systemClock,
  type WorkloadIdentity,
  type WorkloadIdentitySource,
} from '@switchyard/core';
import { serviceError } from './errors.ts';
import type { ServiceMtlsOptions } from './mtls.ts';

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

/** A {@link WorkloadIdentitySource} read from files; see {@link identityFromFiles}. */
export interface FileIdentity extends WorkloadIdentitySource {
  /** Reads the files now (listeners are told); resolves with the identity they hold. */
  reload(): Promise<WorkloadIdentity>;
  /** Told of each failed re-read (`SY_SERVICE_IDENTITY_RELOAD_FAILED`, `cause` = the failure), once per distinct problem. */
  onError(listener: (error: Error) => void): IdentitySubscription;
  /** Stops reading the files. Idempotent. */
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * A workload identity read from PEM files and read again every `pollInterval`: when the files
 * change into a valid identity (the key matches the certificate, which carries one SPIFFE ID
 * and has not expired), `onRotate` listeners are told. A half-written set (a new certificate
 * with the old key) is skipped until the next read; write each file through a rename (as
 * `writeIdentityFiles` of `@switchyard/mesh` does). This is how a process started by
 * `switchyard up` (or given certificates by cert-manager or a SPIRE helper) follows renewals
 * without a restart.
 *
 * Polling rather than `fs.watch`: a rename replacing the file ends a watch on it on Linux, and
 * three small reads a second cost nothing.
 *
 * @throws SwitchyardError `SY_SERVICE_IDENTITY_INVALID` when the files do not form an identity at start
 * @example
 * ```ts
 * import { identityFromFiles, startService } from '@switchyard/service';
 *
 * const identity = await identityFromFiles({ certFile: 'tls/cert.pem', keyFile: 'tls/key.pem', caFile: 'tls/ca.pem' });
 * await startService({ name: 'orders', handler, mtls: { identity, allow: ['spiffe://shop.local/ns/default/sa/gateway'] } });
 * ```
 */
export async function identityFromFiles(options: IdentityFromFilesOptions): Promise<FileIdentity> {
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
        // A set caught mid-write fails once; report a problem once, not every poll.
        const message = (err as Error).message;
        if (message !== lastProblem) {
          lastProblem = message;
          const error = serviceError(
            'SY_SERVICE_IDENTITY_RELOAD_FAILED',
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
    reload: () => reload(true),
    close,
    [Symbol.dispose]: close,
  };
}

/** The environment variables `switchyard up` sets on each instance when `mtls` is on. */
export const MtlsEnv = {
  /** Path of the instance's certificate, PEM (rewritten on each renewal). */
  CertFile: 'SWITCHYARD_TLS_CERT_FILE',
  /** Path of its private key, PEM, mode 0600. */
  KeyFile: 'SWITCHYARD_TLS_KEY_FILE',
  /** Path of the CA bundle peers must chain to, PEM. */
  CaFile: 'SWITCHYARD_TLS_CA_FILE',
  /** The SPIFFE ID in the certificate (informational: the certificate is what counts). */
  SpiffeId: 'SWITCHYARD_SPIFFE_ID',
  /** Comma-separated SPIFFE IDs or patterns allowed to call the instance. */
  Allow: 'SWITCHYARD_MTLS_ALLOW',
  /** How often the files are read again, in milliseconds. @default 1000 */
  PollInterval: 'SWITCHYARD_TLS_POLL_INTERVAL',
} as const;

/** What {@link serviceMtlsFromEnv} found: `startService`'s `mtls` option, with an identity to close. */
export interface EnvMtls extends ServiceMtlsOptions {
  readonly identity: FileIdentity;
  readonly allow: readonly string[];
}

/**
 * The `mtls` option of `startService` from the environment `switchyard up` sets with `mtls:`
 * on ({@link MtlsEnv}): the identity read (and followed) from `SWITCHYARD_TLS_CERT_FILE`,
 * `SWITCHYARD_TLS_KEY_FILE` and `SWITCHYARD_TLS_CA_FILE`, and the allow list from
 * `SWITCHYARD_MTLS_ALLOW`. `undefined` when `SWITCHYARD_TLS_CERT_FILE` is not set.
 *
 * `startService` calls it by itself when given no `mtls`; call it yourself to give the same
 * identity to `createHttpClient({ mtls: { identity } })` for calls to other services, and pass
 * the result to `startService({ mtls })` so one reader serves both.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the variable when one of the others is
 *   missing or an allow entry is not a SPIFFE ID, `SY_SERVICE_IDENTITY_INVALID` for unusable files
 * @example
 * ```ts
 * const mtls = await serviceMtlsFromEnv();
 * const client = createHttpClient({ discovery, ...(mtls ? { mtls: { identity: mtls.identity } } : {}) });
 * await startService({ name: 'orders', handler, ...(mtls ? { mtls } : {}) });
 * ```
 */
export async function serviceMtlsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<EnvMtls | undefined> {
  const certFile = env[MtlsEnv.CertFile];
  if (certFile === undefined || certFile === '') return undefined;
  const required = [MtlsEnv.KeyFile, MtlsEnv.CaFile, MtlsEnv.Allow] as const;
  const missing = required.filter((name) => (env[name] ?? '') === '');
  if (missing.length > 0) {
    throw invalidConfig(
      missing.map((name) => ({
        path: `env.${name}`,
        message: `required when ${MtlsEnv.CertFile} is set (mutual TLS needs the key, the CA bundle and the allowed callers)`,
      })),
    );
  }
  const pollText = env[MtlsEnv.PollInterval];
  const pollInterval = pollText === undefined || pollText === '' ? 1000 : Number(pollText);
  if (!Number.isInteger(pollInterval) || pollInterval < 1) {
    throw invalidConfig([
      { path: `env.${MtlsEnv.PollInterval}`, message: `expected whole milliseconds >= 1, got ${pollText}` },
    ]);
  }
  const allow = (env[MtlsEnv.Allow] as string)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const identity = await identityFromFiles({
    certFile,
    keyFile: env[MtlsEnv.KeyFile] as string,
    caFile: env[MtlsEnv.CaFile] as string,
    pollInterval,
  });
  return { identity, allow };
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
      throw serviceError('SY_SERVICE_IDENTITY_INVALID', `cannot read ${file}: ${(err as Error).message}`, {
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
    serviceError('SY_SERVICE_IDENTITY_INVALID', message, {
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
    if ((err as { code?: unknown }).code === 'SY_SERVICE_IDENTITY_INVALID') throw err;
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

function subscribe<T>(set: Set<T>, listener: T): IdentitySubscription {
  set.add(listener);
  const dispose = (): void => {
    set.delete(listener);
  };
  return { dispose, [Symbol.dispose]: dispose };
}
