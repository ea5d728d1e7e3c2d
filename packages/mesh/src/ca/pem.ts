/** PEM and WebCrypto key helpers shared by the local CA files. */
import { webcrypto } from 'node:crypto';

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** WebCrypto, passed explicitly to `@peculiar/x509` (no global provider is set). */
export const crypto: webcrypto.Crypto = webcrypto;

/** ECDSA over P-256 with SHA-256: what Istio's and Consul Connect's CAs use by default. */
export const ecdsaP256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ecdsaSha256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A new extractable P-256 key pair. */
export function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ecdsaP256, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

/** The private key as PKCS #8 PEM (`-----BEGIN PRIVATE KEY-----`), which `node:tls` reads. */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey('pkcs8', key));
  return toPem(der, 'PRIVATE KEY');
}

/** Imports a PKCS #8 PEM P-256 private key for signing. */
export function privateKeyFromPem(pem: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('pkcs8', fromPem(pem, 'PRIVATE KEY'), ecdsaP256, true, ['sign']);
}

export function toPem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function fromPem(pem: string, label: string): Uint8Array<ArrayBuffer> {
  const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  if (match === null) throw new Error(`no "${label}" PEM block`);
  return new Uint8Array(Buffer.from((match[1] as string).replace(/\s+/g, ''), 'base64'));
}

/** A random positive 128-bit serial number in hex (RFC 5280 §4.1.2.2: at most 20 octets, positive). */
export function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] as number) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
