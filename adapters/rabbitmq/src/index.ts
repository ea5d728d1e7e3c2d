export type { RabbitMqErrorCode } from './errors.ts';
export { rabbitMqError, rabbitMqErrorCodes } from './errors.ts';
export type { RabbitMqEventBusOptions, ResolvedRabbitMqEventBusOptions } from './options.ts';
export { DEFAULT_RABBITMQ_URL, rabbitMqEventBusOptionsSchema, resolveRabbitMqEventBusOptions } from './options.ts';
export type { RabbitMqEventBus } from './rabbitmq-event-bus.ts';
export { createRabbitMqEventBus } from './rabbitmq-event-bus.ts';
