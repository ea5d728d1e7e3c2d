import type { Readable } from 'node:stream';
import { describeError } from '@switchyard/client';
import type { SwitchyardError } from '@switchyard/core';
import { gatewayError } from '../errors.ts';

/** What {@link readCallBody} needs of a response. */
export interface BufferedBodySource {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable;
}

/** Names the call in error messages. */
export interface BodyTarget {
  readonly name: string;
  readonly service: string;
}

const jsonType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Buffers a call's body, at most `maxBytes` of it, and parses it: JSON when the
 * `Content-Type` is `application/json` or `*+json`, UTF-8 text otherwise, `null` when empty.
 * A `Content-Length` above the bound fails before reading; a body that grows past it is
 * destroyed at once.
 *
 * @throws SwitchyardError `SY_GATEWAY_AGGREGATE_BODY_TOO_LARGE` over the bound,
 *   `SY_GATEWAY_UPSTREAM_FAILED` for invalid JSON; a failing stream rejects with its error
 * @example
 * ```ts
 * const data = await readCallBody(response, 1024 * 1024, { name: 'user', service: 'users' });
 * ```
 */
export async function readCallBody(source: BufferedBodySource, maxBytes: number, target: BodyTarget): Promise<unknown> {
  const { body } = source;
  const declared = Number(single(source.headers['content-length']));
  if (Number.isFinite(declared) && declared > maxBytes) {
    // undici's body reports its destruction as an error: nobody reads it any more.
    body.on('error', () => {});
    body.destroy();
    throw tooLarge(target, maxBytes, `declares ${declared} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > maxBytes) {
      body.destroy();
      throw tooLarge(target, maxBytes, `sent more than that`);
    }
    chunks.push(buffer);
  }
  if (size === 0) return null;
  const text = Buffer.concat(chunks, size).toString('utf8');
  if (!jsonType.test(single(source.headers['content-type']) ?? '')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw gatewayError(
      'SY_GATEWAY_UPSTREAM_FAILED',
      `call "${target.name}" to ${target.service}: the body is not valid JSON: ${describeError(err)}`,
      { cause: err, details: { call: target.name, service: target.service } },
    );
  }
}

function tooLarge(target: BodyTarget, maxBytes: number, what: string): SwitchyardError {
  return gatewayError(
    'SY_GATEWAY_AGGREGATE_BODY_TOO_LARGE',
    `call "${target.name}" to ${target.service}: the body is larger than maxBodySize (${maxBytes} bytes): the response ${what}`,
    { details: { call: target.name, service: target.service, maxBodySize: maxBytes } },
  );
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
