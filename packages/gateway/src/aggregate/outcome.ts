import { describeError } from '@switchyard/client';
import { isSwitchyardError } from '@switchyard/core';
import { gatewayErrorCodes, retryAfterOf } from '../errors.ts';

/**
 * How one call ended, as reported in `calls.<name>.status`.
 *
 * @example
 * ```ts
 * report.status === CallStatus.Skipped; // a dependency failed or lacked the field
 * ```
 */
export const CallStatus = {
  /** A 2xx answer with a body within `maxBodySize`. */
  Ok: 'ok',
  /** No usable answer: unreachable, no instance, open breaker, a non-2xx status, a bad or oversized body. */
  Failed: 'failed',
  /** The call's timeout or the aggregate deadline ran out. */
  Timeout: 'timeout',
  /** Never sent: a call it depends on did not succeed, or its body lacked the field the path needs. */
  Skipped: 'skipped',
} as const;
export type CallStatus = (typeof CallStatus)[keyof typeof CallStatus];

/**
 * Why a call failed, as far as the answer's status goes: `timeout` → 504, `unavailable`
 * (no instance, open breaker, discovery failure, shutdown) → 503, `failed` → 502.
 */
export const FailureKind = { Timeout: 'timeout', Unavailable: 'unavailable', Failed: 'failed' } as const;
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];

/** What the response says about one call (`calls.<name>`). */
export interface CallReport {
  readonly status: CallStatus;
  /** The backend's status, when it answered. */
  readonly httpStatus?: number;
  /** From the start of the call (or its skip) to its end, whole milliseconds. */
  readonly durationMs: number;
  /** Present unless the status is `ok`. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** The full outcome of one call: its report, its body when it succeeded, and how a failure counts. */
export interface CallOutcome {
  readonly name: string;
  readonly required: boolean;
  readonly report: CallReport;
  /** The parsed body (JSON value, text, or `null` when empty); present when `ok`. */
  readonly data?: unknown;
  /** For a call that did not succeed: the status class it stands for. */
  readonly kind?: FailureKind;
  /** For an `unavailable` failure: seconds until a retry may succeed (an open breaker says when it probes). */
  readonly retryAfter?: number;
}

/** A call failure, classified. */
export interface ClassifiedFailure {
  readonly status: CallStatus;
  readonly kind: FailureKind;
  readonly code: string;
  readonly message: string;
  readonly retryAfter?: number;
}

const timeoutCodes: ReadonlySet<string> = new Set([
  'SY_GATEWAY_UPSTREAM_TIMEOUT',
  'SY_RESILIENCE_DEADLINE_EXCEEDED',
  'SY_CLIENT_TIMEOUT',
]);
const unavailableCodes: ReadonlySet<string> = new Set([
  'SY_GATEWAY_NO_HEALTHY_INSTANCE',
  'SY_GATEWAY_DISCOVERY_FAILED',
  'SY_GATEWAY_SHUTTING_DOWN',
  'SY_RESILIENCE_CIRCUIT_OPEN',
  'SY_RESILIENCE_CIRCUIT_ISOLATED',
]);

/**
 * Classifies a call's failure (already mapped by the proxy's `toGatewayError`): timeouts and a
 * spent deadline are `timeout`; no instance, an open or isolated breaker, a discovery failure
 * and shutdown are `unavailable`; anything else is `failed`. An error that is not a
 * Switchyard error keeps its message under `SY_GATEWAY_UPSTREAM_FAILED`.
 *
 * @example
 * ```ts
 * classifyFailure(gatewayError('SY_GATEWAY_NO_HEALTHY_INSTANCE', 'none')).kind; // 'unavailable'
 * ```
 */
export function classifyFailure(err: unknown): ClassifiedFailure {
  if (!isSwitchyardError(err)) {
    return {
      status: CallStatus.Failed,
      kind: FailureKind.Failed,
      code: 'SY_GATEWAY_UPSTREAM_FAILED',
      message: describeError(err),
    };
  }
  if (timeoutCodes.has(err.code)) {
    return { status: CallStatus.Timeout, kind: FailureKind.Timeout, code: err.code, message: err.message };
  }
  if (unavailableCodes.has(err.code)) {
    return {
      status: CallStatus.Failed,
      kind: FailureKind.Unavailable,
      code: err.code,
      message: err.message,
      retryAfter: retryAfterOf(err) ?? 1,
    };
  }
  return { status: CallStatus.Failed, kind: FailureKind.Failed, code: err.code, message: err.message };
}

/** The aggregate's answer: 200, or the failure that decides the status. */
export type AggregateVerdict =
  | { readonly ok: true; readonly status: 200 }
  | {
      readonly ok: false;
      readonly status: number;
      readonly code: AggregateFailureCode;
      readonly message: string;
      readonly retryAfter?: number;
    };

/** The codes an aggregate answer fails with. */
export type AggregateFailureCode =
  | 'SY_GATEWAY_AGGREGATE_FAILED'
  | 'SY_GATEWAY_AGGREGATE_UNAVAILABLE'
  | 'SY_GATEWAY_AGGREGATE_TIMEOUT';

const codeOfKind: Readonly<Record<FailureKind, AggregateFailureCode>> = {
  [FailureKind.Timeout]: 'SY_GATEWAY_AGGREGATE_TIMEOUT',
  [FailureKind.Unavailable]: 'SY_GATEWAY_AGGREGATE_UNAVAILABLE',
  [FailureKind.Failed]: 'SY_GATEWAY_AGGREGATE_FAILED',
};

/**
 * The status policy: 200 when every required call succeeded (optional failures are only
 * reported); otherwise the first required call in configured order that did not succeed
 * decides: `timeout` → 504 `SY_GATEWAY_AGGREGATE_TIMEOUT`, `unavailable` → 503
 * `SY_GATEWAY_AGGREGATE_UNAVAILABLE` (with `Retry-After`), `failed` → 502
 * `SY_GATEWAY_AGGREGATE_FAILED`. A skipped call counts as the failure that caused the skip.
 *
 * @param outcomes - in configured order
 * @example
 * ```ts
 * decideAnswer(outcomes); // { ok: false, status: 504, code: 'SY_GATEWAY_AGGREGATE_TIMEOUT', message: 'required call "user" timed out: ...' }
 * ```
 */
export function decideAnswer(outcomes: readonly CallOutcome[]): AggregateVerdict {
  const decisive = outcomes.find((o) => o.required && o.report.status !== CallStatus.Ok);
  if (decisive === undefined) return { ok: true, status: 200 };
  const kind = decisive.kind ?? FailureKind.Failed;
  const code = codeOfKind[kind];
  const failed = outcomes.filter((o) => o.required && o.report.status !== CallStatus.Ok).map((o) => `"${o.name}"`);
  const others = failed.length > 1 ? ` (required calls not ok: ${failed.join(', ')})` : '';
  const verb =
    decisive.report.status === CallStatus.Skipped
      ? 'was skipped'
      : decisive.report.status === CallStatus.Timeout
        ? 'timed out'
        : 'failed';
  const message = `required call "${decisive.name}" ${verb}: ${decisive.report.error?.message ?? 'no answer'}${others}`;
  return {
    ok: false,
    status: gatewayErrorCodes[code].status,
    code,
    message,
    ...(kind === FailureKind.Unavailable ? { retryAfter: decisive.retryAfter ?? 1 } : {}),
  };
}
