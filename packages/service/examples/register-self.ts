import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerSelf } from '@switchyard/service';

// A service with its own HTTP server (Express and Fastify work the same way: pass their port).
const server = createServer((_req, res) => res.end('hello from my own server\n'));
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

// Registers with the registry named by SWITCHYARD_REGISTRY_URL (or `registry: 'http://...'`),
// reports a TTL check every second, and registers again if the registry forgets the instance.
// On SIGTERM/SIGINT it deregisters first, then runs onShutdown, then exits.
const registration = await registerSelf({
  name: 'greeter',
  address: '127.0.0.1',
  port,
  check: { type: 'ttl', ttl: '3s', heartbeat: '1s' },
  health: () => ({ status: 'passing', output: `serving on ${port}` }),
  onShutdown: () => new Promise<void>((resolve) => server.close(() => resolve())),
});
console.log(`${registration.id} listening on http://127.0.0.1:${port}`);
