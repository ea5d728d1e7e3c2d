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
export { createBusMessage, MAX_MESSAGE_ID_LENGTH } from './bus-message.ts';
export type { InstrumentEventBusOptions } from './bus-telemetry.ts';
export { DEAD_LETTER_TOPIC_ATTRIBUTE, instrumentEventBus } from './bus-telemetry.ts';
export type {
  ChoreographyTracker,
  ChoreographyTrackerOptions,
} from './choreography.ts';
export { compensationId, createChoreographyTracker } from './choreography.ts';
export type {
  ChoreographyCompensationContext,
  ChoreographyDefinition,
  ChoreographyDefinitionInput,
  ChoreographyRole,
  ChoreographyStep,
  ChoreographyStepInput,
} from './choreography-definition.ts';
export { defineChoreography } from './choreography-definition.ts';
export type {
  ChoreographyChange,
  ChoreographyCompensation,
  ChoreographyRecord,
  ChoreographyStepState,
  ChoreographyStore,
} from './choreography-store.ts';
export { ChoreographyStatus } from './choreography-store.ts';
export type { DeadLetterFailure } from './dead-letter.ts';
export { DeadLetterHeader, deadLetterHeaders, describeFailure, MAX_DEAD_LETTER_ERROR_LENGTH } from './dead-letter.ts';
export type {
  CompensationContext,
  NoResults,
  SagaBuilder,
  SagaDefinition,
  SagaInput,
  SagaResults,
  SagaStepDefinition,
  StepContext,
  StepPhase,
  StepRetryOptions,
  StepSpec,
  StoredOutput,
} from './definition.ts';
export { defineSaga, isSagaDefinition } from './definition.ts';
export type {
  BeginOptions,
  EngineErrorListener,
  OperatorOptions,
  SagaEngine,
  SagaOutcome,
  TransitionListener,
} from './engine.ts';
export { createSagaEngine } from './engine.ts';
export type { ResolvedSagaEngineOptions, SagaEngineOptions } from './engine-options.ts';
export { resolveSagaEngineOptions, sagaEngineOptionsSchema } from './engine-options.ts';
export type { SagaErrorCode } from './errors.ts';
export { sagaError, sagaErrorCodes } from './errors.ts';
export type { HandlerOutcome, RunHandlerOptions } from './handler-run.ts';
export { runHandler } from './handler-run.ts';
export type { MemoryEventBusOptions } from './memory-bus.ts';
export { createMemoryEventBus } from './memory-bus.ts';
export { createMemoryChoreographyStore } from './memory-choreography-store.ts';
export { createMemorySagaStore } from './memory-store.ts';
export { newMessageId } from './message-id.ts';
export type { OutboxClaim, OutboxEvent, OutboxRecord, OutboxSource } from './outbox.ts';
export type { OutboxRelay, OutboxRelayOptions } from './outbox-relay.ts';
export { createOutboxRelay } from './outbox-relay.ts';
export { PROPAGATED_HEADERS, propagationHeaders, SAGA_ID_HEADER, sagaIdOf, withSagaHeaders } from './saga-headers.ts';
export type { ListCursor } from './saga-list.ts';
export {
  DEFAULT_LIST_LIMIT,
  decodeCursor,
  encodeCursor,
  listLimit,
  listPage,
  listStatuses,
  MAX_LIST_LIMIT,
} from './saga-list.ts';
export type { SagaOperator, SagaOperatorOptions, SagaWithHistory } from './saga-operator.ts';
export { createSagaOperator } from './saga-operator.ts';
export type { SagaRow, TransitionRow } from './saga-rows.ts';
export { sagaColumns, sagaFromRow, transitionColumns, transitionFromRow } from './saga-rows.ts';
export { createSqliteEventBus } from './sqlite-bus.ts';
export type { ResolvedSqliteEventBusOptions, SqliteEventBusOptions } from './sqlite-bus-options.ts';
export { resolveSqliteEventBusOptions, sqliteEventBusOptionsSchema } from './sqlite-bus-options.ts';
export type { SqliteChoreographyStoreOptions } from './sqlite-choreography-store.ts';
export { createSqliteChoreographyStore } from './sqlite-choreography-store.ts';
export type { InboxMessage, SqliteInbox, SqliteInboxOptions } from './sqlite-inbox.ts';
export { createSqliteInbox } from './sqlite-inbox.ts';
export type { SqliteOutbox, SqliteOutboxOptions } from './sqlite-outbox.ts';
export { createSqliteOutbox } from './sqlite-outbox.ts';
export type { ResolvedSqliteSagaStoreOptions, SqliteSagaStoreOptions } from './sqlite-store.ts';
export { createSqliteSagaStore, resolveSqliteSagaStoreOptions, sqliteSagaStoreOptionsSchema } from './sqlite-store.ts';
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
export { DEFAULT_MAX_DELIVERIES, resolveSubscribeOptions, subscribeOptionsSchema } from './subscribe-options.ts';
export { assertTopicName, MAX_TOPIC_LENGTH } from './topic.ts';
export { withTraceHeaders } from './trace-headers.ts';
