/**
 * The dependency rules of the repository, checked by `check-deps.ts`: which workspace package
 * may import which, which packages may do I/O, and where drivers may appear.
 */

/** Internal packages each package may depend on (arrows point inward; `cli` may use all). */
export const allowedInternal: Readonly<Record<string, readonly string[]>> = {
  core: [],
  resilience: ['core'],
  telemetry: ['core'],
  discovery: ['core', 'resilience'],
  client: ['core', 'resilience', 'discovery', 'telemetry'],
  gateway: ['core', 'resilience', 'discovery', 'client', 'telemetry'],
  saga: ['core', 'resilience', 'discovery', 'client', 'telemetry'],
  mesh: ['core', 'discovery'],
  service: ['core', 'resilience', 'discovery', 'telemetry'],
  testing: ['core', 'discovery', 'gateway', 'service'],
  backends: ['core', 'discovery', 'saga', 'etcd', 'kubernetes', 'nats', 'postgres', 'rabbitmq', 'redis'],
  cli: ['*'],
  dashboard: [],
  'example-shop': ['core', 'resilience', 'discovery', 'client', 'telemetry', 'saga', 'service', 'backends'],
};

/** Packages that must stay pure: no I/O modules and no runtime dependency but these. */
export const pure: Readonly<Record<string, readonly string[]>> = {
  core: ['zod'],
  resilience: ['zod'],
};

/** Node built-ins that perform I/O; a pure package importing one is a violation. */
export const ioBuiltins = [
  'child_process',
  'cluster',
  'dgram',
  'dns',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'inspector',
  'net',
  'readline',
  'sqlite',
  'tls',
  'worker_threads',
];

/** Drivers that only `adapters/*` may import. */
export const drivers = ['pg', 'ioredis', 'nats', 'amqplib', 'etcd3', '@kubernetes/client-node', 'mysql2'];
/** Prefixes of driver packages that only `adapters/*` may import. */
export const driverPrefixes = ['@nats-io/'];

/** Only `telemetry` may import these (others use its facade). */
export const telemetryOnlyPrefixes = ['@opentelemetry/', 'prom-client'];
