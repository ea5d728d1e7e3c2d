export type { PostgresErrorCode } from './errors.ts';
export { postgresError, postgresErrorCodes } from './errors.ts';
export type { PostgresSagaStoreOptions, ResolvedPostgresSagaStoreOptions } from './options.ts';
export { postgresSagaStoreOptionsSchema, resolvePostgresSagaStoreOptions } from './options.ts';
export type { PostgresInbox, PostgresInboxMessage, PostgresInboxOptions } from './postgres-inbox.ts';
export { createPostgresInbox } from './postgres-inbox.ts';
export type { OutboxListener, PostgresOutbox, PostgresOutboxOptions, Queryable } from './postgres-outbox.ts';
export { createPostgresOutbox } from './postgres-outbox.ts';
export { createPostgresSagaStore } from './postgres-saga-store.ts';
