import type { IncomingMessage, ServerResponse } from 'node:http';
import { shopError } from '../errors.ts';
import { resolveNodeHandlerOptions } from '../options.ts';
import { errorResponse } from './error-response.ts';
import type { App, AppRequest, AppResponse, AsyncApp } from './types.ts';

/** Options for {@link toNodeHandler}. */
export interface NodeHandlerOptions {
  /** The largest request body accepted, in bytes; larger gets a 413. @default 1_048_576 (1 MiB) */
  maxBodyBytes?: number;
  /** Headers added to every response, including the adapter's own errors. @default {} */
  responseHeaders?: Record<string, string>;
  /**
   * Called with an error the adapter itself hit (the app threw, the response failed).
   * @default logs the error with `console.error`
   */
  onError?: (err: unknown) => void;
}

/** A `node:http` request listener. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Adapts an {@link App} to `node:http`: reads and parses the JSON body, calls `app.handle`,
 * and writes the response as JSON. It never lets an error escape:
 *
 * - body over `maxBodyBytes`: 413 `SY_SHOP_BODY_TOO_LARGE` (checked on `Content-Length`
 *   first, then while reading), and the connection is closed;
 * - a body with a content type other than `application/json` (or `*\/*+json`): 415
 *   `SY_SHOP_UNSUPPORTED_MEDIA_TYPE`; a body without a content type is read as JSON;
 * - a body that is not UTF-8 JSON: 400 `SY_SHOP_MALFORMED_JSON`;
 * - the app throwing (or its promise rejecting): 500 `SY_SHOP_INTERNAL`, reported to `onError`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * createServer(toNodeHandler(createOrdersApp(db))).listen(0, '127.0.0.1');
 * ```
 */
export function toNodeHandler(app: App | AsyncApp, options: NodeHandlerOptions = {}): NodeHandler {
  const { maxBodyBytes, responseHeaders } = resolveNodeHandlerOptions({
    maxBodyBytes: options.maxBodyBytes,
    responseHeaders: options.responseHeaders,
  });
  const onError = options.onError ?? ((err: unknown) => console.error(err));

  return (req, res) => {
    readRequest(req, maxBodyBytes).then(
      (appReq) => {
        let answer: AppResponse | Promise<AppResponse>;
        try {
          answer = app.handle(appReq);
        } catch (err) {
          onError(err);
          answer = errorResponse(err);
        }
        if (!(answer instanceof Promise)) {
          send(res, answer, responseHeaders, onError);
          return;
        }
        answer.then(
          (response) => send(res, response, responseHeaders, onError),
          (err: unknown) => {
            onError(err);
            send(res, errorResponse(err), responseHeaders, onError);
          },
        );
      },
      (err: unknown) => {
        if (err instanceof RequestAborted) {
          // The request stream failed (the client went away): nobody is left to answer.
          res.destroy();
          return;
        }
        const response = errorResponse(err);
        if (response.status >= 500) onError(err);
        if (req.readableEnded) {
          send(res, response, responseHeaders, onError);
          return;
        }
        // The rest of a refused body is not worth reading: discard it and close the connection.
        send(res, response, { ...responseHeaders, connection: 'close' }, onError);
        req.resume();
      },
    );
  };
}

async function readRequest(req: IncomingMessage, maxBodyBytes: number): Promise<AppRequest> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw shopError('SY_SHOP_INVALID_REQUEST', `request target ${JSON.stringify(req.url)} is not a valid path`);
  }
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const declared = Number(headers['content-length'] ?? 0);
  if (declared > maxBodyBytes) throw tooLarge(maxBodyBytes);

  const bytes = await readBody(req, maxBodyBytes);
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    headers,
    body: bytes.length === 0 ? undefined : parseJson(bytes, headers['content-type']),
  };
}

function readBody(req: IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        cleanup();
        reject(tooLarge(maxBodyBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new RequestAborted(err));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** The request stream failed while its body was read. */
class RequestAborted extends Error {
  constructor(cause: Error) {
    super('the request stream failed before its body was read', { cause });
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function parseJson(bytes: Buffer, contentType: string | undefined): unknown {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== undefined && mediaType !== 'application/json' && !/^application\/[^/]+\+json$/.test(mediaType)) {
    throw shopError(
      'SY_SHOP_UNSUPPORTED_MEDIA_TYPE',
      `content-type ${JSON.stringify(contentType)} is not supported; send the body as application/json`,
    );
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw shopError('SY_SHOP_MALFORMED_JSON', 'request body is not valid JSON: it is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw shopError('SY_SHOP_MALFORMED_JSON', `request body is not valid JSON: ${reason}`);
  }
}

function tooLarge(maxBodyBytes: number): Error {
  return shopError('SY_SHOP_BODY_TOO_LARGE', `request body is larger than the limit of ${maxBodyBytes} bytes`);
}

function send(
  res: ServerResponse,
  response: AppResponse,
  extraHeaders: Readonly<Record<string, string>>,
  onError: (err: unknown) => void,
): void {
  if (res.headersSent || res.destroyed) return;
  try {
    const payload = response.body === undefined ? undefined : Buffer.from(JSON.stringify(response.body));
    const headers: Record<string, string | number> = { ...extraHeaders, ...response.headers };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json; charset=utf-8';
      headers['content-length'] = payload.length;
    }
    res.writeHead(response.status, headers);
    res.end(payload);
  } catch (err) {
    // A body that cannot be serialised (a cycle, a BigInt) is a bug in the app, not the client.
    onError(err);
    if (!res.headersSent) {
      const fallback = JSON.stringify(errorResponse(err).body);
      res.writeHead(500, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(fallback),
      });
      res.end(fallback);
    } else {
      res.destroy();
    }
  }
}
