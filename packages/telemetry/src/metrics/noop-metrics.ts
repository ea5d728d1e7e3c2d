import type { MetricsDisposable, MetricsInstruments } from './types.ts';

const noop = (): void => {};
const disposable: MetricsDisposable = Object.freeze({ dispose: noop, [Symbol.dispose]: noop });
/** One frozen object serves as every handle: each method is the same empty function. */
const handle = Object.freeze({
  start: noop,
  end: noop,
  observe: noop,
  succeeded: noop,
  failed: noop,
  retried: noop,
  retryBudgetRejected: noop,
  ejected: noop,
  breakerState: noop,
  record: noop,
  rejected: noop,
  started: noop,
  completed: noop,
  compensated: noop,
  parked: noop,
  aborted: noop,
  published: noop,
  consumed: noop,
  redelivered: noop,
  instance: () => handle,
  step: () => handle,
});
const toHandle = () => handle;

/**
 * Instruments that record nothing, for a process without metrics: every call returns at once
 * (resolving a handle returns one shared frozen object), allocates nothing and never throws.
 * `enabled` is false so callers can skip reading the clock.
 *
 * @example
 * ```ts
 * noopMetrics.http.route('orders').observe('GET', 200, 0.01); // does nothing
 * ```
 */
export const noopMetrics: MetricsInstruments = Object.freeze({
  enabled: false,
  http: Object.freeze({ route: toHandle }),
  upstream: Object.freeze({ service: toHandle }),
  rateLimit: Object.freeze({ route: toHandle, counts: () => [] }),
  mirror: Object.freeze({ route: toHandle }),
  bulkhead: Object.freeze({ named: toHandle }),
  discovery: Object.freeze({ addInstanceSource: () => disposable }),
  saga: Object.freeze({ definition: toHandle }),
  bus: Object.freeze({ publisher: toHandle, consumer: toHandle }),
  admin: Object.freeze({ authRefused: noop }),
  controlPlane: Object.freeze({ registryAuthRefused: noop, xdsAuthRefused: noop }),
});
