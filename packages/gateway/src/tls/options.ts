import { zDuration, zPort } from '@switchyard/core';
import * as z from 'zod';
import { checkCaFile, checkCertificateFiles } from './certificates.ts';

/**
 * Cipher suites for TLS 1.2 when `ciphers` is not given: ECDHE key exchange with AES-GCM or
 * ChaCha20-Poly1305 only (forward secrecy, AEAD). TLS 1.3 suites are fixed by OpenSSL and all
 * modern; this list does not affect them.
 */
export const defaultCiphers = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const serverNamePattern = /^(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

const certificateSchema = z
  .strictObject({
    cert: z.string().min(1, 'expected the path of a PEM certificate file'),
    key: z.string().min(1, 'expected the path of a PEM private key file'),
    serverNames: z
      .array(
        z.string().regex(serverNamePattern, {
          message: 'expected a host name such as "api.example.com" or "*.example.com"',
        }),
      )
      .min(1, 'must list at least one name (leave it out to use the names of the certificate)')
      .optional(),
  })
  .superRefine((entry, ctx) => {
    for (const issue of checkCertificateFiles(entry.cert, entry.key)) {
      ctx.addIssue({ code: 'custom', path: [issue.field], message: issue.message });
    }
  });

const listenerTlsSchema = z.strictObject({
  certificates: z.array(certificateSchema).min(1, 'must list at least one certificate'),
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
  ciphers: z.string().min(1, 'expected an OpenSSL cipher list').default(defaultCiphers),
  clientCertificate: z
    .strictObject({
      ca: z.string().superRefine((path, ctx) => {
        const problem = checkCaFile(path);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
      required: z.boolean().default(true),
    })
    .optional(),
  http2: z.boolean().default(true),
  /** How often certificate files are checked for changes, besides file-system events. */
  reloadInterval: zDuration().default(60_000),
});

const hstsSchema = z.strictObject({
  maxAge: z
    .number({ error: 'expected a number of seconds' })
    .int('expected a whole number of seconds')
    .nonnegative('expected 0 (tells browsers to forget) or more seconds')
    .default(31_536_000),
  includeSubDomains: z.boolean().default(false),
  preload: z.boolean().default(false),
});

const listenerSchema = z
  .strictObject({
    host: z.string().min(1, 'must not be empty').default('127.0.0.1'),
    port: zPort(),
    tls: listenerTlsSchema.optional(),
    redirectToHttps: z.strictObject({ port: zPort().optional() }).optional(),
    hsts: hstsSchema.optional(),
  })
  .superRefine((listener, ctx) => {
    if (listener.tls !== undefined && listener.redirectToHttps !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['redirectToHttps'],
        message: 'a TLS listener serves HTTPS itself; put `redirectToHttps` on a plain listener',
      });
    }
    if (listener.tls === undefined && listener.hsts !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['hsts'],
        message: 'browsers ignore Strict-Transport-Security over plain HTTP (RFC 6797 §8.1); set it on a TLS listener',
      });
    }
    const hsts = listener.hsts;
    if (hsts?.preload === true && (!hsts.includeSubDomains || hsts.maxAge < 31_536_000)) {
      ctx.addIssue({
        code: 'custom',
        path: ['hsts', 'preload'],
        message: 'the preload list requires includeSubDomains: true and maxAge of at least 31536000 (one year)',
      });
    }
  });

/**
 * Schema of `gateway.listeners`: the sockets the gateway serves on, plain HTTP or TLS (with
 * HTTP/2 and HTTP/1.1 on the same port). Certificate and CA files are read and checked while
 * validating: an unreadable file, a key that does not match its certificate, or a certificate
 * outside its validity period is an issue at that field's path.
 *
 * @example
 * ```ts
 * listenersSchema.parse([{ port: 8443, tls: { certificates: [{ cert: 'tls/api.crt', key: 'tls/api.key' }] } }]);
 * ```
 */
export const listenersSchema = z
  .array(listenerSchema)
  .min(1, 'must list at least one listener (leave it out to listen on `host` and `port`)')
  .superRefine((listeners, ctx) => {
    const seen = new Map<string, number>();
    for (const [index, listener] of listeners.entries()) {
      if (listener.port === 0) continue;
      const key = `${listener.host}:${listener.port}`;
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'port'],
          message: `${key} is already used by listeners[${first}]`,
        });
      } else seen.set(key, index);
    }
    const tls = listeners.some((l) => l.tls !== undefined);
    for (const [index, listener] of listeners.entries()) {
      if (listener.redirectToHttps !== undefined && listener.redirectToHttps.port === undefined && !tls) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'redirectToHttps', 'port'],
          message: 'required when no listener has `tls`: the port HTTPS is served on',
        });
      }
    }
  });

/**
 * Schema of `gateway.upstreamTls`: how upstreams reached over `https://` are verified. Without
 * `ca` the system's trusted CAs are used.
 *
 * @example
 * ```ts
 * upstreamTlsSchema.parse({ ca: 'tls/internal-ca.pem' });
 * ```
 */
export const upstreamTlsSchema = z.strictObject({
  ca: z
    .string()
    .superRefine((path, ctx) => {
      const problem = checkCaFile(path);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  servername: z.string().regex(serverNamePattern, { message: 'expected a host name' }).optional(),
  rejectUnauthorized: z.boolean().default(true),
});

/** One certificate of a TLS listener as written. */
export interface ListenerCertificateOptions {
  /** Path of the PEM certificate (leaf first, then intermediates). */
  cert: string;
  /** Path of the PEM private key matching `cert`. */
  key: string;
  /**
   * Names this certificate is served for, chosen by the client's SNI: exact (`api.example.com`)
   * or one wildcard label (`*.example.com`). @default the certificate's DNS subject alt names
   */
  serverNames?: string[] | undefined;
}

/** `tls` of a listener as written. */
export interface ListenerTlsOptions {
  /** Certificates chosen by SNI; the first is served when no name matches or none was sent. */
  certificates: ListenerCertificateOptions[];
  /** Lowest TLS version accepted. @default "TLSv1.2" */
  minVersion?: 'TLSv1.2' | 'TLSv1.3' | undefined;
  /** OpenSSL cipher list for TLS 1.2. @default ECDHE with AES-GCM or ChaCha20-Poly1305 only */
  ciphers?: string | undefined;
  /** Ask clients for a certificate signed by `ca` (mutual TLS); `required` refuses those without. */
  clientCertificate?: { ca: string; required?: boolean | undefined } | undefined;
  /** Offer HTTP/2 through ALPN, HTTP/1.1 staying available on the same port. @default true */
  http2?: boolean | undefined;
  /** How often certificate files are checked for changes, besides file-system events. @default "1m" */
  reloadInterval?: string | number | undefined;
}

/** One entry of `gateway.listeners` as written. */
export interface ListenerOptions {
  /** Interface to listen on. @default "127.0.0.1" */
  host?: string | undefined;
  /** Port to listen on; `0` picks a free port. */
  port: number;
  /** Serve HTTPS (and HTTP/2) on this listener. */
  tls?: ListenerTlsOptions | undefined;
  /** Answer every request on this plain listener with `308` to the same URL over https. */
  redirectToHttps?: { port?: number | undefined } | undefined;
  /** Send `Strict-Transport-Security` on every response of this TLS listener. */
  hsts?:
    | { maxAge?: number | undefined; includeSubDomains?: boolean | undefined; preload?: boolean | undefined }
    | undefined;
}

/** `gateway.upstreamTls` as written. */
export interface UpstreamTlsOptions {
  /** Path of a PEM file of CAs that upstream certificates must chain to. @default the system CAs */
  ca?: string | undefined;
  /** Name checked against upstream certificates instead of the instance's host. */
  servername?: string | undefined;
  /** Refuse upstreams whose certificate does not verify. @default true */
  rejectUnauthorized?: boolean | undefined;
}

/** A listener after validation. */
export type ResolvedListener = z.output<typeof listenerSchema>;
/** A TLS listener's `tls` after validation. */
export type ResolvedListenerTls = z.output<typeof listenerTlsSchema>;
/** `gateway.upstreamTls` after validation. */
export type ResolvedUpstreamTls = z.output<typeof upstreamTlsSchema>;
