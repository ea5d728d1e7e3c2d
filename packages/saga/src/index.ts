/**
 * `@switchyard/saga`: business transactions across services.
 *
 * @packageDocumentation
 */

export type {
  BusGuarantees,
  BusMessage,
  Delivery,
  EventBus,
  MessageHandler,
  PublishOptions,
  SubscribeOptions,
  Subscription,
} from './bus.ts';
export type { SagaErrorCode } from './errors.ts';
export { sagaError, sagaErrorCodes } from './errors.ts';
export { createMemorySagaStore } from './memory-store.ts';
export type {
  ClaimRequest,
  SagaDirection,
  SagaPage,
  SagaQuery,
  SagaRecord,
  SagaStore,
  SagaTransition,
  SagaWrite,
} from './store.ts';
export { activeSagaStatuses, SagaStatus, TransitionKind } from './store.ts';
export type { ResolvedSubscribeOptions } from './subscribe-options.ts';
export { resolveSubscribeOptions, subscribeOptionsSchema } from './subscribe-options.ts';
export { assertTopicName, MAX_TOPIC_LENGTH } from './topic.ts';
