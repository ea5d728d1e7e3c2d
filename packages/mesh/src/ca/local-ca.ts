import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  type Clock,
  resolveOptions,
  spiffeIdOfSubjectAltName,
  systemClock,
  trustDomainProblem,
  type WorkloadIdentity,
  zDuration,
} from '@switchyard/core';
// @peculiar/x509 registers its ASN.1 converters through tsyringe, which needs the Reflect
// metadata API: load the polyfill before it.
import 'reflect-metadata';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  type JsonGeneralName,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate as PeculiarCertificate,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import * as z from 'zod';
import { meshError } from '../errors.ts';
import {
  type CryptoKey,
  crypto,
  ecdsaSha256,
  generateKeyPair,
  privateKeyFromPem,
  privateKeyToPem,
  randomSerial,
} from './pem.ts';
import { type RotatingIdentity, type WorkloadIdentityOptions, workloadIdentity } from './workload-identity.ts';

/** File names of a persisted root, inside `dir`. */
export const CA_ROOT_CERT_FILE = 'root-cert.pem';
export const CA_ROOT_KEY_FILE = 'root-key.pem';

const HOUR = 3_600_000;
/** Certificates start this long before they are issued, so a peer whose clock lags accepts them. */
const BACKDATE_MS = 30_000;
/** SPIFFE path segment characters (SPIFFE-ID §2.2). */
const segment = z
  .string()
  .min(1)
  .regex(/^[a-zA-Z0-9._-]+$/, 'expected letters, digits, ".", "-" or "_"')
  .refine((s) => s !== '.' && s !== '..', 'expected a name other than "." and ".."');

/** Schema of {@link LocalCaOptions} (without `clock`). */
export const localCaOptionsSchema = z.strictObject({
  trustDomain: z.string().superRefine((td, ctx) => {
    const problem = trustDomainProblem(td);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
  dir: z.string().min(1).optional(),
  rootTtl: zDuration()
    .refine((ms) => ms >= HOUR, 'expected at least 1h')
    .default(365 * 24 * HOUR),
  workloadTtl: zDuration()
    .refine((ms) => ms >= 1000, 'expected at least 1s')
    .default(HOUR),
});

/** Schema of {@link IssueWorkloadOptions}. */
export const issueWorkloadOptionsSchema = z.strictObject({
  namespace: segment.default('default'),
  serviceAccount: segment,
  dnsNames: z.array(z.string().min(1)).optional(),
  ipAddresses: z.array(z.string().refine((ip) => isIP(ip) !== 0, 'expected an IPv4 or IPv6 address')).optional(),
  ttl: zDuration()
    .refine((ms) => ms >= 1000, 'expected at least 1s')
    .optional(),
});

/** Options of {@link createLocalCa}; durations as `"1h"`, `"8760h"` or milliseconds. */
export interface LocalCaOptions {
  /** The trust domain of every SPIFFE ID the CA issues (`example.org`, `cluster.local`). */
  trustDomain: string;
  /**
   * Directory holding the root (`root-cert.pem`, `root-key.pem` with mode 0600): loaded when
   * present, created and saved otherwise. Without it the root lives in memory only.
   */
  dir?: string;
  /** Lifetime of a new root. @default "8760h" (one year) */
  rootTtl?: string | number;
  /** Lifetime of workload certificates. @default "1h" */
  workloadTtl?: string | number;
  /** Time source for validity periods and rotation. @default systemClock */
  clock?: Clock;
}

/** What a workload certificate is issued for; see {@link LocalCa.issueWorkload}. */
export interface IssueWorkloadOptions {
  /** @default "default" */
  namespace?: string;
  /** The workload's service account (usually the service name). */
  serviceAccount: string;
  /** DNS SANs. @default `[serviceAccount, "localhost"]` */
  dnsNames?: string[];
  /** IP SANs. @default `["127.0.0.1", "::1"]` */
  ipAddresses?: string[];
  /** Lifetime of this certificate. @default the CA's `workloadTtl` */
  ttl?: string | number;
}

/** A workload certificate: a {@link WorkloadIdentity} plus its validity start and serial. */
export interface IssuedWorkload extends WorkloadIdentity {
  /** ms since the epoch. */
  readonly notBefore: number;
  /** Hex serial number. */
  readonly serialNumber: string;
}

/** A local certificate authority issuing SPIFFE X.509-SVIDs; see {@link createLocalCa}. */
export interface LocalCa {
  readonly trustDomain: string;
  /** The root certificate, PEM: the trust bundle every workload verifies its peers against. */
  readonly rootCertPem: string;
  /** When the root expires (ms since the epoch). */
  readonly rootNotAfter: number;
  /** Whether the root was loaded from `dir` (`false`: created now). */
  readonly loaded: boolean;
  /** The workload certificate lifetime, in ms. */
  readonly workloadTtlMs: number;
  /**
   * Issues a short-lived leaf certificate with a new P-256 key: URI SAN
   * `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`, DNS and IP SANs for local
   * use, `serverAuth` and `clientAuth` extended key usages. Never valid past the root.
   *
   * @throws SwitchyardError `SY_CONFIG_INVALID` (`ca.issueWorkload.serviceAccount: ...`),
   *   `SY_MESH_CA_ROOT_EXPIRED`
   */
  issueWorkload(options: IssueWorkloadOptions): Promise<IssuedWorkload>;
  /**
   * A {@link RotatingIdentity} for one workload: issued now and issued again before it expires
   * (at `renewAt` of its lifetime), telling `onRotate` listeners.
   */
  workloadIdentity(options: IssueWorkloadOptions & WorkloadIdentityOptions): Promise<RotatingIdentity>;
}

/**
 * Creates a local certificate authority with an ECDSA P-256 root, or loads the one saved in
 * `dir`. It issues SPIFFE X.509-SVIDs to workloads for mutual TLS between services, the role
 * of Istio's `istiod` CA and Consul Connect's built-in CA, for one trust domain and without
 * intermediates.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`ca.trustDomain: ...`),
 *   `SY_MESH_CA_LOAD_FAILED` (files in `dir` unreadable, mismatched, or of another trust
 *   domain), `SY_MESH_CA_ROOT_EXPIRED`
 * @example
 * ```ts
 * import { createLocalCa } from '@switchyard/mesh';
 *
 * const ca = await createLocalCa({ trustDomain: 'shop.local', dir: '.switchyard/ca' });
 * const orders = await ca.workloadIdentity({ serviceAccount: 'orders' });
 * orders.current().spiffeId; // 'spiffe://shop.local/ns/default/sa/orders'
 * ```
 */
export async function createLocalCa(input: LocalCaOptions): Promise<LocalCa> {
  const { clock = systemClock, ...rest } = input;
  const options = resolveOptions(localCaOptionsSchema, rest, 'ca');
  const { trustDomain } = options;
  const root =
    (options.dir === undefined ? undefined : await loadRoot(options.dir, trustDomain)) ??
    (await createRoot(trustDomain, options.rootTtl, clock));
  if (options.dir !== undefined && !root.loaded) await saveRoot(options.dir, root);
  checkRootValid(root, clock.now());
  const caCert = new PeculiarCertificate(root.certPem);

  async function issueWorkload(issueInput: IssueWorkloadOptions): Promise<IssuedWorkload> {
    const issue = resolveOptions(issueWorkloadOptionsSchema, issueInput, 'ca.issueWorkload');
    const now = clock.now();
    checkRootValid(root, now);
    const spiffeId = `spiffe://${trustDomain}/ns/${issue.namespace}/sa/${issue.serviceAccount}`;
    const notBefore = Math.max(now - BACKDATE_MS, root.notBefore);
    const notAfter = Math.min(now + (issue.ttl ?? options.workloadTtl), root.notAfter);
    const keys = await generateKeyPair();
    const names: JsonGeneralName[] = [
      { type: 'url', value: spiffeId },
      ...(issue.dnsNames ?? [issue.serviceAccount, 'localhost']).map((value) => ({ type: 'dns' as const, value })),
      ...(issue.ipAddresses ?? ['127.0.0.1', '::1']).map((value) => ({ type: 'ip' as const, value })),
    ];
    const serialNumber = randomSerial();
    const cert = await X509CertificateGenerator.create(
      {
        serialNumber,
        subject: `O=${trustDomain}, CN=${issue.serviceAccount}`,
        issuer: caCert.subject,
        notBefore: new Date(notBefore),
        notAfter: new Date(notAfter),
        publicKey: keys.publicKey,
        signingKey: root.key,
        signingAlgorithm: ecdsaSha256,
        extensions: [
          new BasicConstraintsExtension(false, undefined, true),
          new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement, true),
          new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
          // X509-SVID §4.1: the SAN is critical when the subject carries no other name; it is
          // marked so here regardless, as SPIRE does.
          new SubjectAlternativeNameExtension(names, true),
          await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
          await AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
        ],
      },
      crypto,
    );
    return {
      certPem: cert.toString('pem').concat('\n'),
      keyPem: await privateKeyToPem(keys.privateKey),
      caPem: root.certPem,
      spiffeId,
      notBefore: cert.notBefore.getTime(),
      notAfter: cert.notAfter.getTime(),
      serialNumber,
    };
  }

  return {
    trustDomain,
    rootCertPem: root.certPem,
    rootNotAfter: root.notAfter,
    loaded: root.loaded,
    workloadTtlMs: options.workloadTtl,
    issueWorkload,
    workloadIdentity: ({ renewAt, retryDelay, ...issue }) =>
      workloadIdentity(() => issueWorkload(issue), {
        clock,
        ...(renewAt === undefined ? {} : { renewAt }),
        ...(retryDelay === undefined ? {} : { retryDelay }),
      }),
  };
}

interface Root {
  readonly certPem: string;
  readonly keyPem: string;
  readonly key: CryptoKey;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly loaded: boolean;
}

async function createRoot(trustDomain: string, ttlMs: number, clock: Clock): Promise<Root> {
  const now = clock.now();
  const keys = await generateKeyPair();
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: `O=${trustDomain}, CN=Switchyard local CA`,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + ttlMs),
      keys,
      signingAlgorithm: ecdsaSha256,
      extensions: [
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
        // X509-SVID §2: a signing certificate may carry the trust domain's SPIFFE ID; it is how
        // a reload tells which trust domain a saved root belongs to.
        new SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return {
    certPem: cert.toString('pem').concat('\n'),
    keyPem: await privateKeyToPem(keys.privateKey),
    key: keys.privateKey,
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    loaded: false,
  };
}

async function loadRoot(dir: string, trustDomain: string): Promise<Root | undefined> {
  const certFile = join(dir, CA_ROOT_CERT_FILE);
  const keyFile = join(dir, CA_ROOT_KEY_FILE);
  const [certPem, keyPem] = await Promise.all([readIfExists(certFile), readIfExists(keyFile)]);
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (certPem === undefined || keyPem === undefined) {
    const missing = certPem === undefined ? certFile : keyFile;
    throw loadFailed(`${missing} is missing while its pair exists: restore it, or remove both to create a new root`, {
      dir,
    });
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the key does not match the certificate');
  } catch (err) {
    throw loadFailed(`${dir} does not hold a usable root: ${(err as Error).message}`, { dir }, err);
  }
  if (!cert.ca) throw loadFailed(`${certFile} is not a CA certificate`, { dir });
  const uris = (cert.subjectAltName ?? '').split(', ').filter((entry) => entry.startsWith('URI:'));
  const own = uris.map((entry) => entry.slice('URI:'.length));
  if (!own.includes(`spiffe://${trustDomain}`)) {
    throw loadFailed(
      `${certFile} is the root of ${own.join(', ') || 'no trust domain'}, not spiffe://${trustDomain}: use another dir, or remove it to create a new root`,
      { dir, trustDomain },
    );
  }
  let key: CryptoKey;
  try {
    key = await privateKeyFromPem(keyPem);
  } catch (err) {
    throw loadFailed(`${keyFile} is not a PKCS #8 P-256 key: ${(err as Error).message}`, { dir }, err);
  }
  return {
    certPem,
    keyPem,
    key,
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    loaded: true,
  };
}

async function saveRoot(dir: string, root: Root): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // The key first, then the certificate: a crash in between leaves a key without a
    // certificate, which loading reports, never a certificate whose key is lost.
    await writeAtomically(join(dir, CA_ROOT_KEY_FILE), root.keyPem, 0o600);
    await writeAtomically(join(dir, CA_ROOT_CERT_FILE), root.certPem, 0o644);
  } catch (err) {
    throw loadFailed(`cannot save the root in ${dir}: ${(err as Error).message}`, { dir }, err);
  }
}

/**
 * Writes `file` through a temporary file and a rename, so readers (`identityFromFiles` of `@switchyard/service`) never
 * see half a file.
 *
 * @example
 * ```ts
 * await writeAtomically('data/orders/key.pem', leaf.keyPem, 0o600);
 * ```
 */
export async function writeAtomically(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, text, { mode, flag: 'wx' });
    // The mode given to writeFile is filtered by the umask.
    await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function checkRootValid(root: Root, now: number): void {
  if (now < root.notBefore || now >= root.notAfter) {
    throw meshError(
      'SY_MESH_CA_ROOT_EXPIRED',
      `the CA root is valid from ${new Date(root.notBefore).toISOString()} to ${new Date(root.notAfter).toISOString()}, not now (${new Date(now).toISOString()}): remove the CA directory to create a new root, and restart the workloads so they trust it`,
      { details: { notBefore: root.notBefore, notAfter: root.notAfter } },
    );
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw loadFailed(`cannot read ${file}: ${(err as Error).message}`, { file }, err);
  }
}

function loadFailed(message: string, details: Record<string, string>, cause?: unknown): Error {
  return meshError('SY_MESH_CA_LOAD_FAILED', message, { details, ...(cause === undefined ? {} : { cause }) });
}

/**
 * The SPIFFE ID of a PEM certificate's URI SAN, when it has exactly one valid one.
 *
 * @example
 * ```ts
 * spiffeIdOfCertificate((await ca.issueWorkload({ serviceAccount: 'orders' })).certPem);
 * // 'spiffe://shop.local/ns/default/sa/orders'
 * ```
 */
export function spiffeIdOfCertificate(certPem: string): string | undefined {
  return spiffeIdOfSubjectAltName(new X509Certificate(certPem).subjectAltName);
}
