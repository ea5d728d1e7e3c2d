/**
 * `@switchyard/service`: what every service process needs to take part in a Switchyard
 * system: listen on a free port, serve a health endpoint, register itself with the registry
 * (embedded or Consul) with an HTTP check, and stop gracefully: deregister first, drain
 * in-flight requests, then exit.
 *
 * @example
 * ```ts
 * import { startService } from '@switchyard/service';
 *
 * await startService({
 *   name: 'hello',
 *   handler: (req, res) => res.end('hello\n'),
 *   registry: 'http://127.0.0.1:8500',
 * });
 * ```
 *
 * @packageDocumentation
 */

export { admitRequest, requestSignal } from './deadline.ts';
export type { ServiceErrorCode } from './errors.ts';
export { serviceError, serviceErrorCodes } from './errors.ts';
export type { ResolvedServiceOptions } from './options.ts';
export { resolveServiceOptions, serviceOptionsSchema } from './options.ts';
export { drainServer } from './shutdown.ts';
export type {
  RegistrationClient,
  RequestHandler,
  RunningService,
  ServiceLogger,
  StartServiceOptions,
} from './start-service.ts';
export { startService } from './start-service.ts';
