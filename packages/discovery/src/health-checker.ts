/**
 * Health probes (HTTP through undici, TCP through `node:net`) and the loop that repeats them.
 * Probe timeouts use real timers because they bound real I/O; the loop's interval uses the injected
 * Clock so the registry's scheduling is testable with `ManualClock`.
 */
import { STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import { type Clock, formatDuration, HealthStatus } from '@switchyard/core';
import { request } from 'undici';
import { describeError } from './internal/describe-error.ts';
import { splitHostPort } from './registration.ts';
import { type CheckProbe, type CheckResult, type CheckRunner, CheckType } from './types.ts';

/** Consul keeps at most this much of a check's response body as its output (`OutputMaxSize`). */
const maxOutputBytes = 4096;

/**
 * Probes `probe.target` over HTTP, as Consul's HTTP check does: 2xx is passing, 429 Too Many
 * Requests is warning, any other status, a connection error or a timeout is critical. The first
 * 4 KiB of the body go into the output. Redirects are not followed, so a 3xx is critical.
 * Each probe uses a fresh connection (Consul disables keep-alive for checks too), so a check never
 * holds a socket open between runs.
 *
 * @example
 * ```ts
 * const result = await httpCheck(
 *   { type: 'http', target: 'http://127.0.0.1:8080/health', method: 'GET', headers: {}, timeoutMs: 1000 },
 *   AbortSignal.timeout(5000),
 * );
 * result.output; // 'HTTP GET http://127.0.0.1:8080/health: 200 OK Output: ok'
 * ```
 */
export async function httpCheck(probe: CheckProbe, signal: AbortSignal): Promise<CheckResult> {
  const label = `HTTP ${probe.method} ${probe.target}`;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), probe.timeoutMs);
  timer.unref();
  try {
    const headers: Record<string, string | string[]> = {
      'user-agent': 'Switchyard Health Check',
      accept: 'text/plain, text/*, */*',
    };
    for (const [name, values] of Object.entries(probe.headers)) headers[name.toLowerCase()] = [...values];
    const response = await request(probe.target, {
      method: probe.method as 'GET',
      headers,
      reset: true,
      signal: AbortSignal.any([signal, deadline.signal]),
      ...(probe.body === undefined ? {} : { body: probe.body }),
    });
    const output = await readCapped(response.body, maxOutputBytes);
    const code = response.statusCode;
    const status =
      code >= 200 && code <= 299 ? HealthStatus.Passing : code === 429 ? HealthStatus.Warning : HealthStatus.Critical;
    return { status, output: `${label}: ${code} ${STATUS_CODES[code] ?? ''} Output: ${output}` };
  } catch (err) {
    if (deadline.signal.aborted && !signal.aborted) {
      return { status: HealthStatus.Critical, output: `${label}: timed out after ${formatDuration(probe.timeoutMs)}` };
    }
    return { status: HealthStatus.Critical, output: `${label}: ${describeError(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a TCP connection to `probe.target` (`host:port`) and closes it: connected is passing,
 * refused, unreachable or timed out is critical.
 *
 * @example
 * ```ts
 * const result = await tcpCheck(
 *   { type: 'tcp', target: '127.0.0.1:5432', method: 'GET', headers: {}, timeoutMs: 1000 },
 *   AbortSignal.timeout(5000),
 * );
 * result.status; // 'passing' when something listens there
 * ```
 */
export function tcpCheck(probe: CheckProbe, signal: AbortSignal): Promise<CheckResult> {
  const label = `TCP connect ${probe.target}`;
  const target = splitHostPort(probe.target);
  if (target === undefined) {
    return Promise.resolve({ status: HealthStatus.Critical, output: `${label}: not a host:port address` });
  }
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    let settled = false;
    const finish = (result: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ status: HealthStatus.Critical, output: `${label}: cancelled` });
    const timer = setTimeout(
      () =>
        finish({
          status: HealthStatus.Critical,
          output: `${label}: timed out after ${formatDuration(probe.timeoutMs)}`,
        }),
      probe.timeoutMs,
    );
    timer.unref();
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ status: HealthStatus.Passing, output: `${label}: Success` }));
    socket.once('error', (err) => finish({ status: HealthStatus.Critical, output: `${label}: ${describeError(err)}` }));
  });
}

/**
 * The default {@link CheckRunner}: dispatches to {@link httpCheck} or {@link tcpCheck}.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ checkRunner: runCheck });
 * ```
 */
export const runCheck: CheckRunner = (probe, signal) =>
  probe.type === CheckType.Http ? httpCheck(probe, signal) : tcpCheck(probe, signal);

/** Options for {@link startCheckMonitor}. */
export interface CheckMonitorOptions {
  readonly probe: CheckProbe;
  /** Milliseconds between the end of one probe and the start of the next. */
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly runner: CheckRunner;
  /** Called with every probe's result, never after `stop()`. */
  readonly onResult: (result: CheckResult) => void;
}

/** A running check loop. */
export interface CheckMonitor {
  /** Stops the loop and aborts a probe in flight; idempotent. */
  stop(): void;
}

/**
 * Runs a probe at once, then again `intervalMs` after each one settles, so slow probes never
 * overlap. A runner that rejects counts as critical with the error's message.
 *
 * @example
 * ```ts
 * const monitor = startCheckMonitor({ probe, intervalMs: 10_000, clock: systemClock, runner: runCheck,
 *   onResult: (r) => console.log(r.status, r.output) });
 * monitor.stop();
 * ```
 */
export function startCheckMonitor(options: CheckMonitorOptions): CheckMonitor {
  const { probe, intervalMs, clock, runner, onResult } = options;
  const controller = new AbortController();
  let cancelTimer: (() => void) | undefined;
  let stopped = false;

  const run = (): void => {
    cancelTimer = undefined;
    if (stopped) return;
    let pending: Promise<CheckResult>;
    try {
      pending = runner(probe, controller.signal);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending
      .catch((err: unknown): CheckResult => ({ status: HealthStatus.Critical, output: describeError(err) }))
      .then((result) => {
        if (stopped) return;
        onResult(result);
        if (!stopped) cancelTimer = clock.setTimeout(run, intervalMs);
      })
      .catch((err: unknown) => {
        // onResult belongs to the registry and does not throw; if it ever does, keep probing.
        process.emitWarning(err instanceof Error ? err : String(err), 'SwitchyardDiscoveryWarning');
        if (!stopped) cancelTimer = clock.setTimeout(run, intervalMs);
      });
  };

  run();
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      cancelTimer?.();
      cancelTimer = undefined;
      controller.abort();
    },
  };
}

async function readCapped(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
