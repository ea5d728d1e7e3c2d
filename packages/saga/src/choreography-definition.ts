import { configIssues, invalidConfig, type JsonValue } from '@switchyard/core';
import * as z from 'zod';
import { assertTopicName } from './topic.ts';

/** What a compensation payload function is given. */
export interface ChoreographyCompensationContext {
  readonly sagaId: string;
  /** The step being compensated. */
  readonly step: string;
  /** The payload of the event that completed the step. */
  readonly completion: JsonValue;
  /** The topic of the event that failed the saga. */
  readonly failedOn: string;
  /** The payload of that event. */
  readonly failure: JsonValue;
}

/** One step of a choreographed saga: done when `completedOn` arrives, undone by publishing `compensateWith`. */
export interface ChoreographyStepInput {
  readonly name: string;
  /** The topic whose event means the step is done (`inventory.reserved`). */
  readonly completedOn: string;
  /** The topic to publish when the saga fails after the step was done (`inventory.release`). */
  readonly compensateWith?: string | undefined;
  /**
   * The payload of the compensation event. Must be deterministic: after a crash it is built
   * again. @default the payload of the step's completion event
   */
  readonly compensationPayload?: ((context: ChoreographyCompensationContext) => JsonValue) | undefined;
}

/** Input of {@link defineChoreography}. */
export interface ChoreographyDefinitionInput {
  /** Names the saga kind in the store and the default consumer group (`choreography.<name>`). */
  readonly name: string;
  /** The topic(s) whose event starts a saga (`order.created`). */
  readonly startedOn: string | readonly string[];
  readonly steps: readonly ChoreographyStepInput[];
  /** The topic(s) whose event fails the saga and starts its compensation (`payment.declined`). */
  readonly failedOn: string | readonly string[];
  /** The topic(s) whose event completes the saga (`order.approved`). */
  readonly completedOn: string | readonly string[];
}

/** A step of a {@link ChoreographyDefinition}. */
export interface ChoreographyStep {
  readonly name: string;
  readonly completedOn: string;
  readonly compensateWith?: string | undefined;
  readonly compensationPayload?: ((context: ChoreographyCompensationContext) => JsonValue) | undefined;
}

/** What an event on a topic means to the saga. */
export type ChoreographyRole =
  | { readonly kind: 'started' }
  | { readonly kind: 'step'; readonly step: ChoreographyStep }
  | { readonly kind: 'failed' }
  | { readonly kind: 'completed' };

/** A validated, frozen choreography; see {@link defineChoreography}. */
export interface ChoreographyDefinition {
  readonly name: string;
  readonly startedOn: readonly string[];
  readonly steps: readonly ChoreographyStep[];
  readonly failedOn: readonly string[];
  readonly completedOn: readonly string[];
  /** Every topic the tracker subscribes to, and its role. */
  readonly roles: ReadonlyMap<string, ChoreographyRole>;
}

const topics = z.union([z.string(), z.array(z.string()).min(1)]);
const schema = z.strictObject({
  name: z.string().min(1),
  startedOn: topics,
  steps: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        completedOn: z.string(),
        compensateWith: z.string().optional(),
        compensationPayload: z
          .custom<(context: ChoreographyCompensationContext) => JsonValue>((v) => typeof v === 'function', {
            message: 'expected a function',
          })
          .optional(),
      }),
    )
    .min(1),
  failedOn: topics,
  completedOn: topics,
});

/**
 * Validates a choreographed saga: the events that start it, complete each step, fail it and
 * complete it, and the compensation event of each step. A topic has one role only.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`choreography.steps[1].completedOn: ...`)
 * @example
 * ```ts
 * const orderSaga = defineChoreography({
 *   name: 'order',
 *   startedOn: 'order.created',
 *   steps: [
 *     { name: 'reserve', completedOn: 'inventory.reserved', compensateWith: 'inventory.release' },
 *     { name: 'charge', completedOn: 'payment.charged', compensateWith: 'payment.refund' },
 *   ],
 *   failedOn: ['payment.declined', 'shipping.failed'],
 *   completedOn: 'order.approved',
 * });
 * ```
 */
export function defineChoreography(input: ChoreographyDefinitionInput): ChoreographyDefinition {
  const parsed = schema.safeParse(input, { reportInput: true });
  if (!parsed.success) throw invalidConfig(configIssues(schema, parsed.error, 'choreography'));
  const value = parsed.data;
  const list = (v: string | string[]): string[] => (typeof v === 'string' ? [v] : v);
  const roles = new Map<string, ChoreographyRole>();
  const issues: { path: string; message: string }[] = [];
  const claim = (topic: string, role: ChoreographyRole, path: string): void => {
    try {
      assertTopicName(topic);
    } catch (error) {
      issues.push({ path, message: (error as Error).message });
      return;
    }
    if (roles.has(topic)) issues.push({ path, message: `topic "${topic}" already has a role in this choreography` });
    else roles.set(topic, role);
  };
  try {
    assertTopicName(value.name, 'choreography name');
  } catch (error) {
    issues.push({ path: 'choreography.name', message: (error as Error).message });
  }
  const names = new Set<string>();
  const claimAll = (v: string | string[], role: ChoreographyRole, field: string): void => {
    if (typeof v === 'string') claim(v, role, field);
    else for (const [i, t] of v.entries()) claim(t, role, `${field}[${i}]`);
  };
  claimAll(value.startedOn, { kind: 'started' }, 'choreography.startedOn');
  const steps = value.steps.map((step, i): ChoreographyStep => {
    if (names.has(step.name))
      issues.push({ path: `choreography.steps[${i}].name`, message: `duplicate step "${step.name}"` });
    names.add(step.name);
    const frozen: ChoreographyStep = Object.freeze({ ...step });
    claim(step.completedOn, { kind: 'step', step: frozen }, `choreography.steps[${i}].completedOn`);
    if (step.compensateWith !== undefined) {
      try {
        assertTopicName(step.compensateWith);
      } catch (error) {
        issues.push({ path: `choreography.steps[${i}].compensateWith`, message: (error as Error).message });
      }
    }
    return frozen;
  });
  claimAll(value.failedOn, { kind: 'failed' }, 'choreography.failedOn');
  claimAll(value.completedOn, { kind: 'completed' }, 'choreography.completedOn');
  for (const [i, step] of value.steps.entries()) {
    // The tracker would hear its own compensation as an event of the saga.
    if (step.compensateWith !== undefined && roles.has(step.compensateWith)) {
      issues.push({
        path: `choreography.steps[${i}].compensateWith`,
        message: `topic "${step.compensateWith}" is also an event of this choreography`,
      });
    }
  }
  if (issues.length > 0) throw invalidConfig(issues);
  return Object.freeze({
    name: value.name,
    startedOn: Object.freeze(list(value.startedOn)),
    steps: Object.freeze(steps),
    failedOn: Object.freeze(list(value.failedOn)),
    completedOn: Object.freeze(list(value.completedOn)),
    roles,
  });
}
