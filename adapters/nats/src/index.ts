export type { NatsErrorCode } from './errors.ts';
export { natsError, natsErrorCodes } from './errors.ts';
export type { NatsEventBus } from './nats-event-bus.ts';
export { createNatsEventBus } from './nats-event-bus.ts';
export type { NatsEventBusOptions, ResolvedNatsEventBusOptions } from './options.ts';
export { DEFAULT_NATS_URL, natsEventBusOptionsSchema, resolveNatsEventBusOptions } from './options.ts';
