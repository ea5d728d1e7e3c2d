import { invalidConfig, type JsonValue } from '@switchyard/core';
import type { BackoffInput } from '@switchyard/resilience';
import { parseStepSpec, type ResolvedStepRetry, resolveStepRetry } from './internal/step-options.ts';

/** Which call a step context is for: the step itself, or its compensation. */
export type StepPhase = 'execute' | 'compensate';

/** What a step's `execute` receives. */
export interface StepContext<Input = JsonValue, Results = Readonly<Record<string, JsonValue>>> {
  readonly sagaId: string;
  /** The saga definition's name. */
  readonly name: string;
  readonly input: Input;
  /** The outputs of the steps before this one (for a parallel member: before its group). */
  readonly results: Results;
  /** This step's name. */
  readonly step: string;
  readonly phase: StepPhase;
  /**
   * `${sagaId}:${step}:${phase}`: the same on every attempt and after a crash. Pass it to the
   * service so that a call repeated by the engine has one effect.
   */
  readonly idempotencyKey: string;
  /** 1 for the first attempt of this call in this engine, 2 for the first retry... */
  readonly attempt: number;
  /** Aborted when the attempt times out, the engine stops, or another engine took the saga over. */
  readonly signal: AbortSignal;
  /** Propagation headers captured when the saga began (`traceparent`, `baggage`). */
  readonly meta: Readonly<Record<string, string>>;
}

/** What a step's `compensate` receives: a {@link StepContext} plus the step's own output. */
export interface CompensationContext<
  Input = JsonValue,
  Results = Readonly<Record<string, JsonValue>>,
  Output = JsonValue,
> extends StepContext<Input, Results> {
  /**
   * The step's output; `undefined` when the step failed or never finished (a timeout, a
   * crash): it may still have had an effect, so the compensation runs and must tolerate
   * "nothing to undo".
   */
  readonly output: Output | undefined;
}

/** A step's retry policy: the shape of `@switchyard/resilience`'s `RetryOptions`. */
export interface StepRetryOptions {
  /** Attempts in all, the first included. @default 1 (no retry) */
  readonly maxAttempts?: number;
  /** Delay between attempts. @default { initial: "100ms", max: "10s", factor: 2, jitter: "full" } */
  readonly backoff?: BackoffInput;
  /**
   * True to retry after this error. @default resilience's `defaultRetryOnError` (any foreign
   * error, and SwitchyardErrors marked `retryable`, such as `SY_SAGA_STEP_TIMEOUT`)
   */
  readonly retryOn?: (error: unknown, attempt: number) => boolean;
}

/**
 * One step: `execute` does the work and returns its output (JSON, or nothing), `compensate`
 * undoes it. Both must be idempotent: pass `ctx.idempotencyKey` to the services they call.
 */
export interface StepSpec<Input, Results, Output> {
  readonly execute: (ctx: StepContext<Input, Results>) => Promise<Output> | Output;
  /** Undoes the step; a step without it is skipped when the saga compensates. */
  readonly compensate?:
    | ((ctx: CompensationContext<Input, Results, NoInfer<StoredOutput<Output>>>) => Promise<void> | void)
    | undefined;
  readonly retry?: StepRetryOptions | undefined;
  /** Each attempt (of `execute` and of `compensate`) may take this long: `"2s"` or ms. @default none */
  readonly timeout?: string | number | undefined;
}

/** What a step's output becomes in the store and in `results`: nothing is kept as `null`. */
// biome-ignore lint/suspicious/noConfusingVoidType: a step that returns nothing returns void
export type StoredOutput<O> = undefined extends O ? Exclude<O, undefined | void> | null : O;

/** The results of a saga with no step yet. */
export type NoResults = Readonly<Record<never, never>>;

/** The output type of a step spec: what its `execute` resolves to. */
type OutputOf<S> = S extends { readonly execute: (...args: never[]) => infer R } ? Awaited<R> : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** A step as the engine runs it: validated, times in milliseconds. */
export interface SagaStepDefinition {
  readonly name: string;
  readonly execute: (ctx: StepContext<unknown, unknown>) => unknown;
  readonly compensate: ((ctx: CompensationContext<unknown, unknown, unknown>) => unknown) | undefined;
  readonly retry: ResolvedStepRetry;
  readonly timeoutMs: number | undefined;
}

/**
 * A built saga: a name and its stages in order. A stage is one step, or the members of a
 * parallel group (run concurrently, compensated together). Pass it to `createSagaEngine`.
 */
export interface SagaDefinition<Input = unknown, Results = unknown> {
  readonly kind: 'switchyard.saga';
  readonly name: string;
  readonly stages: readonly (readonly SagaStepDefinition[])[];
  /** Carries the types only; never set. */
  readonly '~types'?: { readonly input: Input; readonly results: Results } | undefined;
}

/** The input type of a {@link SagaDefinition}. */
export type SagaInput<D> = D extends SagaDefinition<infer I, unknown> ? I : never;
/** The outputs of every step of a {@link SagaDefinition}, by step name. */
export type SagaResults<D> = D extends SagaDefinition<unknown, infer R> ? R : never;

/** Builds a {@link SagaDefinition} step by step; each step sees the outputs of those before. */
export interface SagaBuilder<Input, Results> {
  /** Adds a step run after the ones before. Its name must be new in the saga. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a step that returns nothing returns void
  step<S extends string, O extends JsonValue | void>(
    name: S & (S extends keyof Results ? never : unknown),
    spec: StepSpec<Input, Results, O>,
  ): SagaBuilder<Input, Simplify<Results & { readonly [K in S]: StoredOutput<O> }>>;
  /**
   * Adds a group of steps run concurrently (fork/join): the next stage starts when all are
   * done. If any fails, the group is compensated together, members concurrently. Each member's
   * output is typed in later `results`; inside a member's own `compensate`, `ctx.output` is
   * typed as any JSON value (TypeScript cannot infer it there).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a step that returns nothing returns void
  parallel<G extends Record<string, StepSpec<Input, Results, JsonValue | void>>>(
    steps: G,
  ): SagaBuilder<Input, Simplify<Results & { readonly [K in keyof G & string]: StoredOutput<OutputOf<G[K]>> }>>;
  /** The finished definition. @throws SwitchyardError `SY_CONFIG_INVALID` when there is no step */
  build(): SagaDefinition<Input, Results>;
}

/**
 * Starts a saga definition: a name, an input type, then steps and parallel groups in order.
 * Plain functions; step outputs must be JSON (the engine stores them), and each step's
 * `results` is typed with the outputs of the steps before it.
 *
 * @param name - unique among the sagas of an engine; stored with every saga
 * @throws SwitchyardError `SY_CONFIG_INVALID` for an empty name, a repeated step name or bad
 *   step options (`saga.order.steps.charge.retry.maxAttempts: ...`)
 * @example
 * ```ts
 * const order = defineSaga<{ orderId: string; amount: number }>('order')
 *   .step('createOrder', {
 *     execute: async (ctx) => ({ id: `o-${ctx.input.orderId}` }),
 *     compensate: async (ctx) => { console.log('cancel', ctx.output?.id); },
 *   })
 *   .parallel({
 *     reserve: { execute: async () => ({ reservation: 'r1' }) },
 *     charge: { execute: async (ctx) => ({ charged: ctx.input.amount }), retry: { maxAttempts: 3 }, timeout: '2s' },
 *   })
 *   .step('approve', { execute: async (ctx) => { console.log(ctx.results.createOrder.id, ctx.results.charge.charged); } })
 *   .build();
 * ```
 */
export function defineSaga<Input extends JsonValue = JsonValue>(name: string): SagaBuilder<Input, NoResults> {
  if (typeof name !== 'string' || name.length === 0) {
    throw invalidConfig([{ path: 'saga.name', message: 'expected a non-empty string' }]);
  }
  return builder<Input, NoResults>(name, []);
}

function builder<Input, Results>(
  name: string,
  stages: readonly (readonly SagaStepDefinition[])[],
): SagaBuilder<Input, Results> {
  const taken = new Set(stages.flatMap((stage) => stage.map((s) => s.name)));
  const resolve = (stepName: string, spec: unknown): SagaStepDefinition => {
    const root = `saga.${name}.steps.${stepName}`;
    if (stepName.length === 0) throw invalidConfig([{ path: `saga.${name}.steps`, message: 'a step name is empty' }]);
    if (taken.has(stepName)) throw invalidConfig([{ path: root, message: `step name "${stepName}" is already used` }]);
    const parsed = parseStepSpec(spec, root);
    taken.add(stepName);
    return Object.freeze({
      name: stepName,
      execute: parsed.execute as SagaStepDefinition['execute'],
      compensate: parsed.compensate as SagaStepDefinition['compensate'],
      retry: resolveStepRetry(parsed.retry),
      timeoutMs: parsed.timeout,
    });
  };
  return {
    step(stepName, spec) {
      return builder(name, [...stages, Object.freeze([resolve(stepName, spec)])]);
    },
    parallel(steps) {
      const members = Object.entries(steps as Record<string, unknown>).map(([n, spec]) => resolve(n, spec));
      if (members.length === 0) {
        throw invalidConfig([{ path: `saga.${name}.steps`, message: 'a parallel group needs at least one step' }]);
      }
      return builder(name, [...stages, Object.freeze(members)]);
    },
    build() {
      if (stages.length === 0)
        throw invalidConfig([{ path: `saga.${name}.steps`, message: 'a saga needs at least one step' }]);
      return Object.freeze({ kind: 'switchyard.saga', name, stages: Object.freeze([...stages]) }) as SagaDefinition<
        Input,
        Results
      >;
    },
  } as SagaBuilder<Input, Results>;
}

/**
 * True when `value` is a {@link SagaDefinition} (built by {@link defineSaga}).
 *
 * @example
 * ```ts
 * isSagaDefinition(defineSaga('order').step('a', { execute: () => 1 }).build()); // true
 * ```
 */
export function isSagaDefinition(value: unknown): value is SagaDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'switchyard.saga' &&
    Array.isArray((value as { stages?: unknown }).stages)
  );
}
