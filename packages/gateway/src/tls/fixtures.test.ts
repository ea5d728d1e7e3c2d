/**
 * A throwaway PKI for the TLS tests, made with the `openssl` CLI in a temp directory: a CA,
 * leaf certificates signed by it (SANs of choice, or already expired), a client certificate,
 * and a second CA nobody trusts. This file holds no tests of its own.
 */

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and key on disk. */
export interface Pair {
  readonly cert: string;
  readonly key: string;
}

/** A CA that signs leaves in `dir`. */
export interface TestPki {
  readonly dir: string;
  /** The CA certificate (PEM path). */
  readonly ca: string;
  /** A leaf for the DNS names and IPs given (`DNS:a.test`, `IP:127.0.0.1`); `expired` is past its end. */
  leaf(name: string, sans: readonly string[], opts?: { expired?: boolean; client?: boolean }): Pair;
  /** SHA-256 fingerprint of a certificate file, as `peerCertificate.fingerprint256` shows it. */
  fingerprint(certPath: string): string;
  remove(): void;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Creates a CA in a new temp directory.
 *
 * @example
 * ```ts
 * const pki = createTestPki('ca');
 * const a = pki.leaf('a', ['DNS:a.test']);
 * ```
 */
export function createTestPki(caName = 'ca', dir = mkdtempSync(join(tmpdir(), 'sy-tls-'))): TestPki {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${caName}.key`,
      '-out',
      `${caName}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=Switchyard test ${caName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  let serial = 1;
  return {
    dir,
    ca: join(dir, `${caName}.crt`),
    leaf(name, sans, opts = {}) {
      openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
      const ext = [
        sans.length > 0 ? `subjectAltName=${sans.join(',')}` : '',
        `extendedKeyUsage=${opts.client === true ? 'clientAuth' : 'serverAuth'}`,
      ]
        .filter(Boolean)
        .join('\n');
      writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          `${caName}.crt`,
          '-CAkey',
          `${caName}.key`,
          '-set_serial',
          String(serial++ + Math.floor(Math.random() * 1e9)),
          '-out',
          `${name}.crt`,
          // A negative validity ends before it starts: expired from the first second.
          '-days',
          opts.expired === true ? '-1' : '1',
          '-extfile',
          `${name}.ext`,
        ],
        dir,
      );
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    },
    fingerprint(certPath) {
      return new X509Certificate(readFileSync(certPath)).fingerprint256;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
