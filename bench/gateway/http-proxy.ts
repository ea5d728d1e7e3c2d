/**
 * `http-proxy` as a bench contender: node:http calling `proxy.web` for every request, with a
 * keep-alive agent to `http://127.0.0.1:<UPSTREAM_PORT>` (its default agent would open a
 * connection per request). Prints `READY <port>`.
 */
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';

const proxy = httpProxy.createProxyServer({
  target: `http://127.0.0.1:${process.env.UPSTREAM_PORT}`,
  agent: new Agent({ keepAlive: true, maxSockets: 64 }),
});
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502, { 'content-length': 0 });
  res.end();
});
const server = createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`READY ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
