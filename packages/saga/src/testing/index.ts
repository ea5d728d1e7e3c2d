/**
 * `@switchyard/saga/testing`: contract suites for the package's ports, built on `node:test`.
 *
 * @packageDocumentation
 */
export type { EventBusFeatures, EventBusFixture } from './bus-contract.ts';
export { eventBusContract } from './bus-contract.ts';
export type { SagaStoreFixture } from './store-contract.ts';
export { sagaStoreContract } from './store-contract.ts';
export type { TcpProxy } from './tcp-proxy.ts';
export { startTcpProxy } from './tcp-proxy.ts';
