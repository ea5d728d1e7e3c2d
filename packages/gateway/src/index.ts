/**
 * `@switchyard/gateway`: the API gateway. It normalises the request path, picks the most
 * specific route, asks an {@link InstanceSource} for the route's service, balances across the
 * instances and streams the request and response through undici keep-alive pools. Every error
 * it produces is JSON with a stable code: `{ "error": { "code", "message", "requestId" } }`.
 *
 * @example
 * ```ts
 * import { createGateway } from '@switchyard/gateway';
 *
 * const gateway = await createGateway({
 *   options: {
 *     port: 8080,
 *     routes: [
 *       { path: '/api/orders', service: 'orders' },
 *       { path: '/api/inventory', service: 'inventory', timeout: '5s', methods: ['GET'] },
 *     ],
 *   },
 *   discovery: {
 *     instances: async (service) => [
 *       { id: `${service}-1`, service, address: '127.0.0.1', port: 3001, tags: [], meta: {}, status: 'passing', weight: 1 },
 *     ],
 *   },
 * });
 * // GET http://127.0.0.1:8080/api/orders/12?x=1 → GET http://127.0.0.1:3001/12?x=1
 * await gateway.close();
 * ```
 *
 * @packageDocumentation
 */

export type {
  AdminAuth,
  AdminAuthDecision,
  AdminAuthOptions,
  ResolvedAdminAuthOptions,
} from './admin/admin-auth.ts';
export {
  ADMIN_AUTH_CHALLENGE,
  AdminScope,
  adminAuthOptionsSchema,
  adminScopeFor,
  createAdminAuth,
  OPEN_ADMIN_PATHS,
  requireAdminAuthWhenExposed,
  sendAdminAuthRefusal,
} from './admin/admin-auth.ts';
export { addSecretValues, redactSecretValues } from './admin/redact.ts';
export type { AdminHandler, AdminHandlerInput, AdminViews } from './admin/server.ts';
export { createAdminHandler } from './admin/server.ts';
export type { AggregateBody, AggregateDeps } from './aggregate/handler.ts';
export { createAggregateHandler } from './aggregate/handler.ts';
export type { AggregateCallOptions, AggregateOptions, ResolvedAggregateOptions } from './aggregate/options.ts';
export { aggregateOptionsSchema } from './aggregate/options.ts';
export type { CallReport } from './aggregate/outcome.ts';
export { apiKeyAuth, generateApiKey, hashApiKey } from './auth/api-key.ts';
export { jwtAuth } from './auth/jwt.ts';
export type {
  ApiKeyAuthOptions,
  JwtAuthOptions,
  RemoteAuthOptions,
  ResolvedApiKeyAuthOptions,
  ResolvedJwtAuthOptions,
  ResolvedRemoteAuthOptions,
} from './auth/options.ts';
export {
  apiKeyAuthOptionsSchema,
  jwtAuthOptionsSchema,
  remoteAuthOptionsSchema,
  resolveApiKeyAuthOptions,
  resolveJwtAuthOptions,
  resolveRemoteAuthOptions,
} from './auth/options.ts';
export type { RemoteAuthDeps } from './auth/remote.ts';
export { remoteAuth } from './auth/remote.ts';
export { handleClientError } from './client-error.ts';
export { expectContinue, sendContinue } from './continue.ts';
export type { GatewayErrorBody, GatewayErrorCode, GatewayErrorCodeSpec } from './errors.ts';
export {
  errorBody,
  gatewayError,
  gatewayErrorCodes,
  httpStatusOf,
  retryAfterOf,
} from './errors.ts';
export type { Gateway, GatewayListenerInfo } from './gateway.ts';
export { createGateway } from './gateway.ts';
export { GatewayAttributes, GatewayEvents, UNMATCHED_ROUTE } from './gateway-telemetry.ts';
export type { GatewayInput, GatewayRequestHandler } from './handler.ts';
export { createGatewayHandler } from './handler.ts';
export type { ForwardingContext, HeaderRecord, OutgoingHeaders } from './headers.ts';
export {
  createProxyTrust,
  downstreamResponseHeaders,
  requestIdFor,
  upstreamRequestHeaders,
  viaEntry,
  withoutHopByHop,
} from './headers.ts';
export { bodyLimit } from './middleware/body-limit.ts';
export type { ClosableRateLimitStore, RateLimitStoreFactories } from './middleware/build.ts';
export { parseByteSize, zByteSize } from './middleware/byte-size.ts';
export { cors } from './middleware/cors.ts';
export type { IpFilterDeps } from './middleware/ip-filter.ts';
export { addressMatcher, clientAddressOf, ipFilter } from './middleware/ip-filter.ts';
export type {
  BodyLimitOptions,
  CorsOptions,
  IpFilterOptions,
  MiddlewareEntryOptions,
  MiddlewareKind,
  RedisRateLimitStoreConfig,
} from './middleware/options.ts';
export {
  bodyLimitOptionsSchema,
  corsOptionsSchema,
  ipFilterOptionsSchema,
  middlewareKinds,
} from './middleware/options.ts';
export type { GatewayContext, GatewayIdentity, GatewayMiddleware, RouteHandler } from './middleware.ts';
export { composeMiddleware } from './middleware.ts';
export type {
  GatewayOptions,
  ResolvedGatewayOptions,
  ResolvedRoute,
  ResolvedStaticUpstreams,
  RouteBreakerOptions,
  RouteOptions,
  RouteRetryOptions,
} from './options.ts';
export {
  breakerOverridesOf,
  gatewayOptionsSchema,
  HttpMethod,
  RouteMatch,
  resolveGatewayOptions,
  routeOptionsSchema,
} from './options.ts';
export type { NormalizedTarget } from './path.ts';
export { normalizeRequestTarget } from './path.ts';
export type { PatternResult, PatternSegment, RoutePattern } from './pattern.ts';
export { parseRoutePattern } from './pattern.ts';
export type { GatewayLogger, InstanceSource } from './ports.ts';
export { silentLogger } from './ports.ts';
export type { GcraStep, RateLimitDecision, RateLimitRequest, RateLimitStore } from './rate-limit/gcra.ts';
export { emissionIntervalUs, gcra } from './rate-limit/gcra.ts';
export type { MemoryRateLimitStore, MemoryRateLimitStoreOptions } from './rate-limit/memory-store.ts';
export { createMemoryRateLimitStore } from './rate-limit/memory-store.ts';
export { rateLimit } from './rate-limit/middleware.ts';
export type { RateLimitKey, RateLimitOptions, ResolvedRateLimitOptions } from './rate-limit/options.ts';
export { rateLimitOptionsSchema, resolveRateLimitOptions } from './rate-limit/options.ts';
export { gatewayRetry } from './retry-default.ts';
export type { RolloutAdminAnswer, RolloutAdminEndpoint } from './rollout/admin.ts';
export { rolloutAdminEndpoint } from './rollout/admin.ts';
export type { SubsetStats, Verdict } from './rollout/analysis.ts';
export { judge, ObservationWindow } from './rollout/analysis.ts';
export type {
  RolloutController,
  RolloutControllerInput,
  RolloutStoreFactories,
  RolloutStoreFactory,
  RolloutView,
} from './rollout/controller.ts';
export { createRolloutController, splitOf } from './rollout/controller.ts';
export { createMemoryRolloutStore } from './rollout/memory-store.ts';
export type {
  ResolvedRollout,
  ResolvedRolloutAnalysis,
  RolloutAnalysisOptions,
  RolloutOptions,
} from './rollout/options.ts';
export {
  DEFAULT_ROLLOUT_STEPS,
  InsufficientTraffic,
  RolloutStrategy,
  resolveRolloutsOptions,
  rolloutOptionsSchema,
  rolloutsOptionsSchema,
} from './rollout/options.ts';
export { createSqliteRolloutStore } from './rollout/sqlite-store.ts';
export { idleRecord, isRolloutActive, isRolloutFinal, transition } from './rollout/state.ts';
export type { ContractTestApi } from './rollout/store-contract.ts';
export { rolloutStoreContract } from './rollout/store-contract.ts';
export type { RolloutObservation, RolloutSubsetWeight, RolloutTrafficControl } from './rollout/traffic-port.ts';
export type { RolloutRecord, RolloutStore, RolloutTransition } from './rollout/types.ts';
export { MAX_ROLLOUT_HISTORY, RolloutPhase } from './rollout/types.ts';
export type { HeaderCondition, RoutableRoute, RoutedRequest, RouteMatchResult, Router } from './router.ts';
export { createRouter } from './router.ts';
export type { ResolvedServerLimits, ServerLimitsOptions } from './server-limits.ts';
export { serverLimitsSchema } from './server-limits.ts';
export { STATIC_SERVICE_PREFIX, staticServiceName } from './static-upstreams.ts';
export type {
  ListenerCertificateOptions,
  ListenerOptions,
  ListenerTlsOptions,
  ResolvedListener,
  ResolvedListenerTls,
  ResolvedUpstreamTls,
  UpstreamTlsOptions,
} from './tls/options.ts';
export { defaultCiphers, listenersSchema, upstreamTlsSchema } from './tls/options.ts';
export { compileSplit, stickyBucket, subsetForBucket } from './traffic/choice.ts';
export type { TrafficControl } from './traffic/control.ts';
export { subsetBreakerName } from './traffic/control.ts';
export { MIRROR_HEADER } from './traffic/mirror.ts';
export type { ResponseObservation } from './traffic/observation.ts';
export type {
  ResolvedRouteTraffic,
  ResolvedSubsets,
  RouteTrafficOptions,
  SubsetSelector,
  SubsetWeight,
  TrafficMatch,
} from './traffic/options.ts';
export { MIRROR_MAX_BODY_BYTES, routeTrafficSchema, subsetsSchema } from './traffic/options.ts';
export { isWebSocketUpgrade } from './upgrade.ts';
