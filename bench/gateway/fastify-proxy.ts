/**
 * `@fastify/http-proxy` as a bench contender: fastify (logger off) with the plugin forwarding
 * everything to `http://127.0.0.1:<UPSTREAM_PORT>` over its default undici pool. Prints `READY <port>`.
 */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
await app.register(proxy, { upstream: `http://127.0.0.1:${process.env.UPSTREAM_PORT}` });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
console.log(`READY ${typeof address === 'object' && address !== null ? address.port : 0}`);
process.on('SIGTERM', () => process.exit(0));
