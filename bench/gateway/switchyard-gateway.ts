/**
 * Switchyard's gateway as a bench contender: one prefix route `/` (no prefix stripping) to the
 * service `upstream`, whose only instance comes from a static {@link InstanceSource} pointing
 * at `127.0.0.1:<UPSTREAM_PORT>`. Routing, header handling, balancing, the breaker and the
 * timeout are all in the path, as in production. Prints `READY <port>`; exits on SIGTERM
 * after closing the gateway (so `--cpu-prof` gets written).
 */
import type { ServiceInstance } from '@switchyard/core';
import { createGateway, type InstanceSource } from '@switchyard/gateway';

const upstreamPort = Number(process.env.UPSTREAM_PORT);
const instance: ServiceInstance = Object.freeze({
  id: 'upstream-1',
  service: 'upstream',
  address: '127.0.0.1',
  port: upstreamPort,
  tags: [],
  meta: {},
  status: 'passing' as const,
  weight: 1,
});
const list: readonly ServiceInstance[] = Object.freeze([instance]);
const discovery: InstanceSource = { instances: async () => list };

const gateway = await createGateway({
  options: { host: '127.0.0.1', port: 0, routes: [{ path: '/', service: 'upstream', stripPrefix: false }] },
  discovery,
});
console.log(`READY ${gateway.port}`);
process.on('SIGTERM', () => {
  // close() waits for keep-alive clients; the bench has none left when it stops a contender.
  void gateway.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
