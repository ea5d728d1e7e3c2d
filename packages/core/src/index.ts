/**
 * `@switchyard/core`: the pure foundation every Switchyard package shares. No I/O.
 *
 * - {@link SwitchyardError} with stable `SY_<AREA>_<WHAT>` codes, branded so `instanceof`
 *   works across duplicate installs; {@link isSwitchyardError} to match on a code.
 * - {@link Clock}, {@link systemClock} and {@link ManualClock}: time, injected.
 * - {@link parseDuration} and {@link zDuration}: `"250ms"`, `"5s"`, `"1m30s"` or milliseconds.
 * - {@link exponentialBackoff}: capped exponential backoff with jitter; stateless, so shareable.
 * - {@link resolveOptions}: zod validation that throws `SY_CONFIG_INVALID` naming each field.
 *
 * @example
 * ```ts
 * import * as z from 'zod';
 * import { resolveOptions, zDuration, isSwitchyardError } from '@switchyard/core';
 *
 * const schema = z.strictObject({ timeout: zDuration().default(30_000) });
 * try {
 *   resolveOptions(schema, { timout: '5s' }, 'route');
 * } catch (err) {
 *   if (isSwitchyardError(err, 'SY_CONFIG_INVALID')) console.error(err.message);
 *   // invalid configuration:
 *   //   route.timout: unknown field (did you mean "timeout"?)
 * }
 * ```
 *
 * @packageDocumentation
 */

export { RegistryAuthRefusal, XdsAuthRefusal } from './auth-refusal.ts';
export type { BackoffDelay, BackoffOptions } from './backoff.ts';
export { exponentialBackoff } from './backoff.ts';
export type { Clock, TimerOptions } from './clock.ts';
export { ManualClock, systemClock } from './clock.ts';
export type { CoreErrorCode } from './codes.ts';
export { cancelledError, coreError, coreErrorCodes, throwIfAborted } from './codes.ts';
export type { ConfigIssue } from './config.ts';
export {
  closest,
  configIssues,
  deepFreeze,
  formatPath,
  invalidConfig,
  resolveOptions,
  zDuration,
  zPort,
} from './config.ts';
export { formatDuration, isDurationString, parseDuration, parseGoDuration } from './duration.ts';
export type { ErrorCodeSpec, JsonValue, SwitchyardErrorJSON, SwitchyardErrorOptions } from './errors.ts';
export { errorFactory, isSwitchyardError, SwitchyardError } from './errors.ts';
export { isLoopbackHost } from './loopback.ts';
export type { SecretEntry, SecretMatcher } from './secret-match.ts';
export { createDigestMatcher, createSecretMatcher, secretDigest, secretEquals } from './secret-match.ts';
export type {
  IdentitySubscription,
  SpiffeId,
  SpiffeIdResult,
  WorkloadIdentity,
  WorkloadIdentitySource,
} from './spiffe.ts';
export {
  isSpiffeId,
  matchesSpiffePattern,
  parseSpiffeId,
  spiffeIdOfSubjectAltName,
  spiffePatternProblem,
  trustDomainProblem,
} from './spiffe.ts';
export type { Endpoint, ServiceInstance } from './types.ts';
export { endpointOrigin, HealthStatus } from './types.ts';
