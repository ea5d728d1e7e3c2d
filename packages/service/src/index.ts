/**
 * `@switchyard/service`: what every service process needs to take part in a Switchyard
 * system: listen on a free port, serve a health endpoint, register itself with the registry
 * (embedded or Consul) with an HTTP or TTL check and stay registered when the registry forgets
 * it, and stop gracefully: deregister first, drain in-flight requests, then exit. A service with
 * its own HTTP server (Express, Fastify, `node:http`) uses `registerSelf` for the same.
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
export type {
  HealthReport,
  LostEvent,
  RegisteredEvent,
  RegistrationClient,
  ServiceLogger,
} from './keep-registered.ts';
export type { MtlsRefusedEvent, MtlsServer, ServiceMtlsOptions } from './mtls.ts';
export { createMtlsServer, peerSpiffeId, resolveServiceMtlsOptions } from './mtls.ts';
export type { EnvMtls, FileIdentity, IdentityFromFilesOptions } from './mtls-files.ts';
export { identityFromFiles, MtlsEnv, serviceMtlsFromEnv } from './mtls-files.ts';
export type { ResolvedRegisterSelfOptions, ResolvedServiceOptions } from './options.ts';
export {
  registerSelfOptionsSchema,
  resolveRegisterSelfOptions,
  resolveServiceOptions,
  serviceOptionsSchema,
} from './options.ts';
export type { RegisterSelfDeps, RegisterSelfOptions, SelfCheckOption, SelfRegistration } from './register-self.ts';
export { registerSelf } from './register-self.ts';
export type { RequestTelemetryOptions, RouteOf } from './request-telemetry.ts';
export { instrumentRequests, UNMATCHED_ROUTE } from './request-telemetry.ts';
export type { ServiceTelemetryOptions } from './service-telemetry.ts';
export { drainServer } from './shutdown.ts';
export type { RequestHandler, RunningService, ServiceCheckOption, StartServiceOptions } from './start-service.ts';
export { startService } from './start-service.ts';
