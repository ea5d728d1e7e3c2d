import type { IncomingMessage, ServerResponse } from 'node:http';
import { coreError } from '@switchyard/core';
import { attachDeadline, parseTimeoutHeader, resilienceError, TIMEOUT_HEADER } from '@switchyard/resilience';
import { serviceError } from './errors.ts';

/** What the service knows of one request's lifetime; the signal is made on first use. */
interface RequestState {
  readonly res: ServerResponse | undefined;
  /** Absolute deadline (`Date.now()` clock), from the request's budget header. */
  readonly deadline: number | undefined;
  readonly budgetMs: number | undefined;
  signal: AbortSignal | undefined;
}

const requests = new WeakMap<IncomingMessage, RequestState>();

/**
 * Reads the caller's remaining budget from the `switchyard-timeout-ms` header and admits the
 * request, or answers it at once: `400` with `SY_SERVICE_BAD_TIMEOUT_HEADER` when the header
 * is malformed, `504` with `SY_RESILIENCE_DEADLINE_EXCEEDED` when the budget is already spent
 * (0), so no work starts that nobody waits for. Errors are JSON:
 * `{ "error": { "code", "message" } }`. An admitted request gets the signal
 * {@link requestSignal} returns.
 *
 * `startService` calls it for every request but the health check; call it yourself from a
 * `node:http` server of your own.
 *
 * @returns true when the request was admitted and the handler should run; false when it was answered
 * @example
 * ```ts
 * createServer((req, res) => {
 *   if (!admitRequest(req, res)) return;
 *   handler(req, res);
 * });
 * ```
 */
export function admitRequest(req: IncomingMessage, res: ServerResponse): boolean {
  const budget = parseTimeoutHeader(headerValues(req));
  if (typeof budget === 'object') {
    answer(res, 400, serviceError('SY_SERVICE_BAD_TIMEOUT_HEADER', budget.error));
    return false;
  }
  if (budget === 0) {
    answer(
      res,
      504,
      resilienceError(
        'SY_RESILIENCE_DEADLINE_EXCEEDED',
        `the caller's time budget was already spent (${TIMEOUT_HEADER}: 0); the request was not handled`,
      ),
    );
    return false;
  }
  requests.set(req, {
    res,
    deadline: budget === undefined ? undefined : Date.now() + budget,
    budgetMs: budget,
    signal: undefined,
  });
  return true;
}

/**
 * The signal of an incoming request: it aborts when the client disconnects before the
 * response is complete (`SY_CANCELLED`), and when the caller's budget from the
 * `switchyard-timeout-ms` header runs out (`SY_RESILIENCE_DEADLINE_EXCEEDED`). It carries that
 * deadline (`deadlineOf(signal)`), so passing it to the resilient HTTP client forwards the
 * remaining budget to the next service, and to a timeout policy shortens it.
 *
 * Made on first use, so handlers that never ask pay nothing. A request without the header
 * gets a signal that aborts on disconnect only. For a request that neither `startService` nor
 * {@link admitRequest} saw, the signal follows the header alone (no disconnect detection).
 *
 * @example
 * ```ts
 * await startService({
 *   name: 'orders',
 *   handler: async (req, res) => {
 *     const stock = await client.request('inventory', { path: '/stock/42', signal: requestSignal(req) });
 *     res.end(await stock.body.text());
 *   },
 * });
 * ```
 */
export function requestSignal(req: IncomingMessage): AbortSignal {
  let state = requests.get(req);
  if (state === undefined) {
    const budget = parseTimeoutHeader(headerValues(req));
    const budgetMs = typeof budget === 'number' ? budget : undefined;
    state = {
      res: undefined,
      deadline: budgetMs === undefined ? undefined : Date.now() + budgetMs,
      budgetMs,
      signal: undefined,
    };
    requests.set(req, state);
  }
  state.signal ??= createSignal(state);
  return state.signal;
}

function createSignal(state: RequestState): AbortSignal {
  const controller = new AbortController();
  const { res, deadline, budgetMs } = state;
  let timer: NodeJS.Timeout | undefined;
  if (deadline !== undefined) {
    attachDeadline(controller.signal, deadline);
    const expire = () =>
      controller.abort(
        resilienceError(
          'SY_RESILIENCE_DEADLINE_EXCEEDED',
          `the caller's time budget of ${budgetMs}ms (${TIMEOUT_HEADER}) ran out`,
          { details: { budgetMs: budgetMs ?? 0 } },
        ),
      );
    const remaining = deadline - Date.now();
    if (remaining <= 0) expire();
    else {
      timer = setTimeout(expire, remaining);
      timer.unref();
    }
  }
  if (res !== undefined) {
    const onClose = () => {
      clearTimeout(timer);
      if (!res.writableFinished) {
        controller.abort(coreError('SY_CANCELLED', 'the client closed the connection before the response was sent'));
      }
    };
    if (res.closed) onClose();
    else res.once('close', onClose);
  }
  return controller.signal;
}

/** The header's value(s); a repeated header arrives joined with commas. */
function headerValues(req: IncomingMessage): string | string[] | undefined {
  const value = req.headers[TIMEOUT_HEADER];
  if (typeof value === 'string' && value.includes(',')) return value.split(',').map((v) => v.trim());
  return value;
}

function answer(res: ServerResponse, status: number, error: { code: string; message: string }): void {
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
