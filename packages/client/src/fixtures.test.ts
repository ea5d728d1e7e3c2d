/**
 * Shared fixtures for the integration tests: real HTTP servers on 127.0.0.1 port 0, a closed
 * port, and a static instance source that counts its lookups. This file holds no tests.
 */

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import type { InstanceSource } from './options.ts';

/** What a server saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface TestServer {
  readonly port: number;
  readonly server: Server;
  readonly seen: SeenRequest[];
  instance(service: string, id?: string): ServiceInstance;
}

/** Answers a request whose body was read; `n` counts this server's requests from 1. */
export type Handler = (req: IncomingMessage, res: ServerResponse, body: string, n: number) => void;

/** Answers 200 with a JSON echo and `x-server: <name>`. */
export const echo =
  (name: string): Handler =>
  (req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-server': name });
    res.end(JSON.stringify({ server: name, method: req.method, url: req.url, body }));
  };

/** Answers `status` with `x-server: <name>` and optional extra headers. */
export const status =
  (name: string, code: number, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(code, { 'x-server': name, 'content-type': 'text/plain', ...headers });
    res.end(`${name} says ${code}`);
  };

/** Starts a server that reads each request body, records it, then calls `handler`. */
export async function startServer(t: TestContext, name: string, handler: Handler = echo(name)): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body, seen.length);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => close(server));
  const port = (server.address() as AddressInfo).port;
  return { port, server, seen, instance: (service, id = `${service}-${name}`) => instanceAt(service, port, id) };
}

/** Starts a server whose handler gets the raw request (for hanging and streaming tests). */
export async function startRawServer(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ port: number; instance(service: string, id?: string): ServiceInstance }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => close(server));
  const port = (server.address() as AddressInfo).port;
  return { port, instance: (service, id = `${service}-raw`) => instanceAt(service, port, id) };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function instanceAt(service: string, port: number, id = `${service}-${port}`): ServiceInstance {
  return { id, service, address: '127.0.0.1', port, tags: [], meta: {}, status: 'passing', weight: 1 };
}

/** A fixed instance list per service, counting lookups. */
export function staticDiscovery(
  lists: Record<string, readonly ServiceInstance[]>,
): InstanceSource & { readonly lookups: number } {
  let lookups = 0;
  return {
    get lookups() {
      return lookups;
    },
    async instances(service) {
      lookups++;
      return lists[service] ?? [];
    },
  };
}

/** Rejects after `ms`: a wait for an event must not hang the suite. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms}ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Fast retries for tests: no sleeping beyond a millisecond. */
export const fastRetry = { backoff: { initial: 1, max: 1, jitter: 'none' } } as const;
