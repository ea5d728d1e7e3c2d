/**
 * Switchyard's gateway as the TLS bench contender: one route `/` to the bench upstream at
 * `127.0.0.1:<UPSTREAM_PORT>`, served on three listeners of one process: TLS with HTTP/2 and
 * HTTP/1.1 (the default), TLS with HTTP/1.1 only (node:https), and plain HTTP. Certificate and
 * key come from `TLS_CERT` and `TLS_KEY`. Prints `READY <h2 port> <https port> <plain port>`.
 */
import type { ServiceInstance } from '@switchyard/core';
import { createGateway, type InstanceSource } from '@switchyard/gateway';

const instance: ServiceInstance = Object.freeze({
  id: 'upstream-1',
  service: 'upstream',
  address: '127.0.0.1',
  port: Number(process.env.UPSTREAM_PORT),
  tags: [],
  meta: {},
  status: 'passing' as const,
  weight: 1,
});
const list: readonly ServiceInstance[] = Object.freeze([instance]);
const discovery: InstanceSource = { instances: async () => list };
const certificates = [{ cert: String(process.env.TLS_CERT), key: String(process.env.TLS_KEY) }];

const gateway = await createGateway({
  options: {
    listeners: [
      { host: '127.0.0.1', port: 0, tls: { certificates } },
      { host: '127.0.0.1', port: 0, tls: { certificates, http2: false } },
      { host: '127.0.0.1', port: 0 },
    ],
    // wrk keeps its connections for the whole run.
    server: { keepAliveTimeout: '60s' },
    routes: [{ path: '/', service: 'upstream', stripPrefix: false }],
  },
  discovery,
});
console.log(`READY ${gateway.listeners.map((l) => l.port).join(' ')}`);
process.on('SIGTERM', () => {
  void gateway.close().then(() => process.exit(0));
});
