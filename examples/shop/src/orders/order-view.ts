import type { JsonValue, SwitchyardErrorJSON } from '@switchyard/core';
import type { SagaRecord, SagaStatus, SagaTransition } from '@switchyard/saga';
import type { OrderSagaInput } from './order-saga.ts';
import { type OrderRow, OrderStatus } from './orders-table.ts';

/** The steps of the order saga, in order. */
export const orderSagaSteps = ['createOrder', 'reserve', 'charge', 'approve'] as const;

/**
 * Where one step of an order's saga stands: `pending` (not reached), `running`, `done`,
 * `failed`, `compensating` (its undo is running or being retried) or `compensated`.
 */
export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'compensating' | 'compensated';

/** One step of an order's saga, as `GET /orders/:id` shows it. */
export interface StepView {
  readonly name: string;
  readonly status: StepStatus;
  /** Attempts of the step's execute so far. */
  readonly attempts: number;
  /** Attempts of its compensation so far. */
  readonly compensationAttempts: number;
  /** The step's output, once done. */
  readonly output?: JsonValue;
  /** The last failure of the step or of its compensation. */
  readonly error?: SwitchyardErrorJSON;
}

/** One transition of the saga's history, as `GET /orders/:id` shows it. */
export interface TransitionView {
  readonly seq: number;
  readonly kind: string;
  /** ISO 8601 timestamp. */
  readonly at: string;
  readonly step?: string;
  readonly attempt?: number;
  readonly error?: SwitchyardErrorJSON;
  /** The engine (orders instance) that wrote it. */
  readonly owner?: string;
}

/** An order with its saga, as the orders service returns it. */
export interface OrderView extends Omit<OrderRow, 'status'> {
  readonly status: OrderStatus;
  readonly saga: {
    readonly id: string;
    readonly status: SagaStatus | 'unknown';
    readonly steps: readonly StepView[];
    readonly history: readonly TransitionView[];
  };
}

/**
 * Builds the view of an order from its row (absent while the saga's first step has not run)
 * and its saga record and history (absent only for orders placed before the saga existed).
 *
 * @example
 * ```ts
 * const view = orderView(orders.get(id), await engine.get(id), await engine.history(id));
 * view.saga.steps.map((s) => `${s.name}: ${s.status}`); // ['createOrder: done', 'reserve: done', …]
 * ```
 */
export function orderView(
  order: OrderRow | undefined,
  saga: SagaRecord | undefined,
  history: readonly SagaTransition[],
): OrderView {
  const input = saga?.input as OrderSagaInput | undefined;
  const base: OrderRow = order ?? {
    id: input?.orderId ?? saga?.id ?? '',
    customer: input?.customer ?? '',
    items: input?.items ?? [],
    total: input?.total ?? 0,
    status: OrderStatus.Pending,
    createdAt: input?.createdAt ?? '',
  };
  return {
    ...base,
    saga: {
      id: saga?.id ?? base.id,
      status: saga?.status ?? 'unknown',
      steps: stepViews(history),
      history: history.map(transitionView),
    },
  };
}

function stepViews(history: readonly SagaTransition[]): StepView[] {
  const steps = new Map<string, { -readonly [K in keyof StepView]: StepView[K] }>(
    orderSagaSteps.map((name) => [name, { name, status: 'pending', attempts: 0, compensationAttempts: 0 }]),
  );
  for (const t of history) {
    const step = t.step === undefined ? undefined : steps.get(t.step);
    if (step === undefined) continue;
    // The engine records an attempt number on the transitions that end an attempt run.
    if (t.kind.startsWith('step.')) step.attempts = Math.max(step.attempts, t.attempt ?? 1);
    else step.compensationAttempts = Math.max(step.compensationAttempts, t.attempt ?? 1);
    switch (t.kind) {
      case 'step.started':
        step.status = 'running';
        break;
      case 'step.done':
        step.status = 'done';
        if (t.output !== undefined) step.output = t.output;
        break;
      case 'step.failed':
        step.status = 'failed';
        if (t.error !== undefined) step.error = t.error;
        break;
      case 'compensation.started':
        step.status = 'compensating';
        break;
      case 'compensation.failed':
        if (t.error !== undefined) step.error = t.error;
        break;
      case 'compensation.done':
        step.status = 'compensated';
        break;
    }
  }
  return [...steps.values()];
}

function transitionView(t: SagaTransition): TransitionView {
  return {
    seq: t.seq,
    kind: t.kind,
    at: new Date(t.at).toISOString(),
    ...(t.step === undefined ? {} : { step: t.step }),
    ...(t.attempt === undefined ? {} : { attempt: t.attempt }),
    ...(t.error === undefined ? {} : { error: t.error }),
    ...(t.owner === undefined ? {} : { owner: t.owner }),
  };
}
