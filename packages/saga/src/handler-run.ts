import { type Clock, type JsonValue, systemClock } from '@switchyard/core';
import type { Delivery, MessageHandler } from './bus.ts';
import { sagaError } from './errors.ts';

/**
 * How one handler run ended. `ok: true` acknowledges the message; `ok: false` means it failed
 * (threw, rejected, or ran past the ack timeout: `timedOut`) and is due for redelivery or the
 * dead-letter topic.
 */
export type HandlerOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: unknown; readonly timedOut: boolean };

/** Options of {@link runHandler}. */
export interface RunHandlerOptions {
  /** How long the handler may run before its signal is aborted and the run counts as failed. */
  readonly ackTimeoutMs: number;
  /** Time source for the ack timer. @default systemClock */
  readonly clock?: Clock | undefined;
  /** Aborts the handler's signal too (a bus that is being destroyed); the run then fails. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs `handler` for one delivery, as every bus does: the handler gets an `AbortSignal` that
 * aborts with `SY_BUS_ACK_TIMEOUT` after `ackTimeoutMs`. Resolves (never rejects) as soon as
 * the handler settles or the timeout fires, whichever comes first: a handler that ignores its
 * signal may go on running, but its message already counts as failed, and its late result is
 * ignored. A handler that throws synchronously counts as failed too.
 *
 * @example
 * ```ts
 * const outcome = await runHandler(handler, delivery, { ackTimeoutMs: options.ackTimeoutMs });
 * if (outcome.ok) await ack(); else await retryLater(outcome.error);
 * ```
 */
export function runHandler<T extends JsonValue>(
  handler: MessageHandler<T>,
  delivery: Delivery<T>,
  options: RunHandlerOptions,
): Promise<HandlerOutcome> {
  const clock = options.clock ?? systemClock;
  const controller = new AbortController();
  return new Promise<HandlerOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: HandlerOutcome) => {
      if (settled) return;
      settled = true;
      cancelTimer();
      options.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const fail = (reason: unknown, timedOut: boolean) => {
      if (!controller.signal.aborted) controller.abort(reason);
      finish({ ok: false, error: reason, timedOut });
    };
    const onAbort = () => fail(options.signal?.reason, false);
    const cancelTimer = clock.setTimeout(
      () => fail(ackTimeoutError(delivery, options.ackTimeoutMs), true),
      options.ackTimeoutMs,
    );
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let running: Promise<void>;
    try {
      running = Promise.resolve(handler(delivery, controller.signal));
    } catch (error) {
      return finish({ ok: false, error, timedOut: false });
    }
    running.then(
      () =>
        finish(
          controller.signal.aborted ? { ok: false, error: controller.signal.reason, timedOut: true } : { ok: true },
        ),
      (error: unknown) => finish({ ok: false, error, timedOut: false }),
    );
  });
}

function ackTimeoutError(delivery: Delivery, ackTimeoutMs: number): Error {
  return sagaError(
    'SY_BUS_ACK_TIMEOUT',
    `handler for message ${JSON.stringify(delivery.id)} on ${JSON.stringify(delivery.topic)} (group ` +
      `${JSON.stringify(delivery.group)}, attempt ${delivery.attempt}) ran past ackTimeout ${ackTimeoutMs}ms`,
    {
      details: {
        id: delivery.id,
        topic: delivery.topic,
        group: delivery.group,
        attempt: delivery.attempt,
        ackTimeoutMs,
      },
    },
  );
}
