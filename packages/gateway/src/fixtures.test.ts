/**
 * Shared fixtures for the integration tests: real HTTP upstreams on port 0, a static instance
 * source and a raw node:http client (fetch and undici refuse to send hop-by-hop headers).
 * This file holds no tests of its own.
 */

import { once } from 'node:events';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { TestContext } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import { createGateway, type Gateway } from './gateway.ts';
import type { GatewayInput } from './handler.ts';
import type { GatewayOptions } from './options.ts';
import type { InstanceSource } from './ports.ts';

/** What an upstream saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

export interface Upstream {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  readonly seen: SeenRequest[];
  instance(service: string, id?: string): ServiceInstance;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** Default upstream behaviour: answer 200 with a JSON echo of what arrived. */
export const echo =
  (name: string): UpstreamHandler =>
  (req, res, body) => {
    const payload = JSON.stringify({ upstream: name, method: req.method, url: req.url, body });
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(payload);
  };

/** Starts an HTTP server on 127.0.0.1:0, closed (connections included) after the test. */
export async function startUpstream(
  t: TestContext,
  name: string,
  handler: UpstreamHandler = echo(name),
): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      handler(req, res, body);
    });
  });
  await listen(server);
  t.after(() => closeServer(server));
  const port = (server.address() as AddressInfo).port;
  return { name, port, server, seen, instance: (service, id = `${service}-${name}`) => instanceAt(service, port, id) };
}

/** Starts a raw server (no body collection) for tests that stream. */
export async function startRawUpstream(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ port: number; server: Server }> {
  const server = createServer(handler);
  await listen(server);
  t.after(() => closeServer(server));
  return { port: (server.address() as AddressInfo).port, server };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await listen(server);
  const port = (server.address() as AddressInfo).port;
  await closeServer(server);
  return port;
}

export function instanceAt(service: string, port: number, id = `${service}-${port}`): ServiceInstance {
  return { id, service, address: '127.0.0.1', port, tags: [], meta: {}, status: 'passing', weight: 1 };
}

/** An instance source answering from a fixed map. */
export function staticSource(instances: Record<string, readonly ServiceInstance[]>): InstanceSource {
  return { instances: async (service) => instances[service] ?? [] };
}

/** Starts a gateway on 127.0.0.1:0, closed after the test. */
export async function startGateway(
  t: TestContext,
  options: Omit<GatewayOptions, 'port' | 'host'>,
  discovery: InstanceSource,
  extra: Omit<GatewayInput, 'options' | 'discovery'> = {},
): Promise<Gateway> {
  const gateway = await createGateway({ options: { ...options, host: '127.0.0.1', port: 0 }, discovery, ...extra });
  t.after(() => gateway.close());
  return gateway;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/**
 * Sends one request with node:http (a fresh connection, any headers) and collects the response.
 * Fails after 5 s.
 */
export function send(
  url: string,
  path: string,
  init: { method?: string; headers?: Record<string, string | string[]>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest({
      host: target.hostname,
      port: target.port,
      path,
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      agent: false,
      signal: AbortSignal.timeout(5_000),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.end(init.body);
  });
}

/** Parses a gateway JSON error body. */
export function errorOf(response: RawResponse): { code: string; message: string; requestId: string } {
  return (JSON.parse(response.body) as { error: { code: string; message: string; requestId: string } }).error;
}

function listen(server: Server): Promise<void> {
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => undefined);
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}

/** A raw TCP connection for tests that send bytes node:http would not (see {@link rawConnection}). */
export interface RawConnection {
  write(data: string | Buffer): void;
  /** Everything received so far, as latin1 text. */
  received(): string;
  /** Resolves with everything received once `pattern` matches it; rejects after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  /** Resolves with everything received once the peer closed the connection; rejects after `ms`. */
  closed(ms?: number): Promise<string>;
}

/** Connects to 127.0.0.1:`port`; the socket is destroyed after the test. */
export async function rawConnection(t: TestContext, port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  let text = '';
  let ended = false;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    notify();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    ended = true;
    notify();
  });
  const until = (done: () => boolean, what: string, ms: number) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(text);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${what} within ${ms}ms; received so far: ${JSON.stringify(text.slice(0, 500))}`));
      }, ms);
      waiters.add(check);
      check();
    });
  return {
    write: (data) => {
      socket.write(data);
    },
    received: () => text,
    waitFor: (pattern, ms = 5_000) => until(() => pattern.test(text), `no match for ${pattern}`, ms),
    closed: (ms = 5_000) => until(() => ended, 'the connection was not closed', ms),
  };
}
