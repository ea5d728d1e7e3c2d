import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';

/** A problem with one file of a certificate entry, by field. */
export interface CertificateFileIssue {
  readonly field: 'cert' | 'key';
  readonly message: string;
}

/** A certificate and key read from disk and checked. */
export interface LoadedCertificate {
  readonly cert: string;
  readonly key: string;
  /** DNS names of the certificate's subject alternative names (or its CN when it has none). */
  readonly names: readonly string[];
  readonly validTo: Date;
}

/** The result of {@link loadCertificate}. */
export type LoadCertificateResult =
  | { readonly ok: true; readonly certificate: LoadedCertificate }
  | { readonly ok: false; readonly field: 'cert' | 'key'; readonly path: string; readonly reason: string };

/**
 * Reads a PEM certificate and its key and checks that they are usable: both parse, the key
 * matches the certificate, and now lies within the certificate's validity period.
 *
 * @example
 * ```ts
 * const loaded = loadCertificate('tls/api.crt', 'tls/api.key');
 * if (!loaded.ok) console.error(`${loaded.path}: ${loaded.reason}`);
 * ```
 */
export function loadCertificate(certPath: string, keyPath: string, now = new Date()): LoadCertificateResult {
  const refuse = (field: 'cert' | 'key', reason: string): LoadCertificateResult => ({
    ok: false,
    field,
    path: field === 'cert' ? certPath : keyPath,
    reason,
  });
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(certPath, 'utf8');
  } catch (err) {
    return refuse('cert', `cannot read ${JSON.stringify(certPath)}: ${reasonOf(err)}`);
  }
  try {
    key = readFileSync(keyPath, 'utf8');
  } catch (err) {
    return refuse('key', `cannot read ${JSON.stringify(keyPath)}: ${reasonOf(err)}`);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    return refuse('cert', `${JSON.stringify(certPath)} is not a PEM certificate: ${reasonOf(err)}`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    return refuse('key', `${JSON.stringify(keyPath)} is not a PEM private key: ${reasonOf(err)}`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    return refuse('key', `${JSON.stringify(keyPath)} does not match the certificate ${JSON.stringify(certPath)}`);
  }
  const validFrom = new Date(x509.validFrom);
  const validTo = new Date(x509.validTo);
  if (now.getTime() > validTo.getTime()) {
    return refuse('cert', `${JSON.stringify(certPath)} expired on ${validTo.toISOString()}`);
  }
  if (now.getTime() < validFrom.getTime()) {
    return refuse('cert', `${JSON.stringify(certPath)} is not valid before ${validFrom.toISOString()}`);
  }
  return { ok: true, certificate: { cert, key, names: namesOf(x509), validTo } };
}

/**
 * The problems of a certificate entry, for config validation: empty when the pair loads.
 *
 * @example
 * ```ts
 * checkCertificateFiles('tls/api.crt', 'tls/other.key'); // [{ field: 'key', message: '... does not match ...' }]
 * ```
 */
export function checkCertificateFiles(certPath: string, keyPath: string): CertificateFileIssue[] {
  const loaded = loadCertificate(certPath, keyPath);
  return loaded.ok ? [] : [{ field: loaded.field, message: loaded.reason }];
}

/**
 * Checks that `path` is a readable file holding at least one PEM certificate; the problem as a
 * sentence, or `undefined`.
 *
 * @example
 * ```ts
 * checkCaFile('/etc/ssl/internal-ca.pem'); // undefined when fine
 * ```
 */
export function checkCaFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return `cannot read ${JSON.stringify(path)}: ${reasonOf(err)}`;
  }
  try {
    new X509Certificate(text);
  } catch (err) {
    return `${JSON.stringify(path)} holds no PEM certificate: ${reasonOf(err)}`;
  }
  return undefined;
}

/** What every context of a listener shares besides its certificate. */
export interface ContextSettings {
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers: string;
  /** PEM of the CAs client certificates must chain to. */
  readonly clientCa?: string;
}

/**
 * The options of a secure context for `certificate` (also the options of `tls.Server#setSecureContext`).
 *
 * @example
 * ```ts
 * server.setSecureContext(contextOptions(loaded.certificate, { minVersion: 'TLSv1.2', ciphers: defaultCiphers }));
 * ```
 */
export function contextOptions(certificate: LoadedCertificate, settings: ContextSettings): SecureContextOptions {
  return {
    cert: certificate.cert,
    key: certificate.key,
    minVersion: settings.minVersion,
    ciphers: settings.ciphers,
    // The server's cipher order, so a client preferring a weaker suite still gets a strong one.
    honorCipherOrder: true,
    ...(settings.clientCa === undefined ? {} : { ca: settings.clientCa }),
  };
}

/**
 * Picks the certificate for a TLS server name: an exact name first, then a wildcard
 * `*.example.com` covering exactly one label (`a.example.com`, not `a.b.example.com`, as in
 * RFC 6125 §6.4.3); `undefined` when none matches, which means the default (first) certificate.
 *
 * @example
 * ```ts
 * const pick = createSniMatcher([['api.example.com'], ['*.example.com']]);
 * pick('api.example.com'); // 0
 * pick('www.example.com'); // 1
 * pick('other.test'); // undefined
 * ```
 */
export function createSniMatcher(
  namesByIndex: readonly (readonly string[])[],
): (servername: string) => number | undefined {
  const exact = new Map<string, number>();
  const wildcard = new Map<string, number>();
  for (const [index, names] of namesByIndex.entries()) {
    for (const raw of names) {
      const name = raw.toLowerCase();
      const table = name.startsWith('*.') ? wildcard : exact;
      const key = name.startsWith('*.') ? name.slice(2) : name;
      if (!table.has(key)) table.set(key, index);
    }
  }
  return (servername) => {
    const name = servername.toLowerCase().replace(/\.$/, '');
    const found = exact.get(name);
    if (found !== undefined) return found;
    const dot = name.indexOf('.');
    return dot > 0 ? wildcard.get(name.slice(dot + 1)) : undefined;
  };
}

/** A certificate entry as the store reads it. */
export interface CertificateEntry {
  readonly cert: string;
  readonly key: string;
  readonly serverNames?: readonly string[] | undefined;
}

/** Reports of {@link CertificateStore.reload}. */
export interface CertificateReload {
  /** Indexes of the entries whose certificate was replaced. */
  readonly replaced: readonly number[];
  /** Entries whose new files were refused; their previous certificate stays in service. */
  readonly refused: readonly {
    readonly index: number;
    readonly field: 'cert' | 'key';
    readonly path: string;
    readonly reason: string;
  }[];
}

/** The certificates of one TLS listener, swappable while it serves. */
export interface CertificateStore {
  /** Options of the default (first) certificate's context, for the server and `setSecureContext`. */
  defaultOptions(): SecureContextOptions;
  /** A `SNICallback` picking the context by server name (the default one when none matches). */
  readonly sniCallback: (servername: string, callback: (err: Error | null, ctx?: SecureContext) => void) => void;
  /**
   * Reads every entry's files again. A pair that does not load is refused and the entry keeps
   * its certificate in service; `onDefaultChanged` is called when the first entry changed.
   */
  reload(): CertificateReload;
}

/**
 * Builds the store of a TLS listener from entries already checked by the config schema.
 *
 * @throws Error when an entry no longer loads (the files changed since validation)
 * @example
 * ```ts
 * const store = createCertificateStore(tls.certificates, { minVersion: 'TLSv1.2', ciphers: defaultCiphers }, (o) => server.setSecureContext(o));
 * ```
 */
export function createCertificateStore(
  entries: readonly CertificateEntry[],
  settings: ContextSettings,
  onDefaultChanged: (options: SecureContextOptions) => void,
): CertificateStore {
  const loaded: LoadedCertificate[] = [];
  for (const entry of entries) {
    const result = loadCertificate(entry.cert, entry.key);
    if (!result.ok) throw new Error(`${result.path}: ${result.reason}`);
    loaded.push(result.certificate);
  }
  const contexts = loaded.map((c) => createSecureContext(contextOptions(c, settings)));
  const match = createSniMatcher(entries.map((e, i) => e.serverNames ?? (loaded[i] as LoadedCertificate).names));
  return {
    defaultOptions: () => contextOptions(loaded[0] as LoadedCertificate, settings),
    sniCallback(servername, callback) {
      const index = match(servername) ?? 0;
      callback(null, contexts[index]);
    },
    reload() {
      const replaced: number[] = [];
      const refused: { index: number; field: 'cert' | 'key'; path: string; reason: string }[] = [];
      for (const [index, entry] of entries.entries()) {
        const result = loadCertificate(entry.cert, entry.key);
        if (!result.ok) {
          refused.push({ index, field: result.field, path: result.path, reason: result.reason });
          continue;
        }
        const previous = loaded[index] as LoadedCertificate;
        if (previous.cert === result.certificate.cert && previous.key === result.certificate.key) continue;
        let context: SecureContext;
        try {
          context = createSecureContext(contextOptions(result.certificate, settings));
        } catch (err) {
          refused.push({ index, field: 'cert', path: entry.cert, reason: reasonOf(err) });
          continue;
        }
        loaded[index] = result.certificate;
        contexts[index] = context;
        replaced.push(index);
        if (index === 0) onDefaultChanged(contextOptions(result.certificate, settings));
      }
      return { replaced, refused };
    },
  };
}

function namesOf(x509: X509Certificate): string[] {
  const names: string[] = [];
  for (const part of (x509.subjectAltName ?? '').split(',')) {
    const entry = part.trim();
    if (entry.startsWith('DNS:')) names.push(entry.slice(4));
  }
  if (names.length > 0) return names;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
  return cn === undefined ? [] : [cn];
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
