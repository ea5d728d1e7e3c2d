/**
 * `@switchyard/discovery`: how services find each other.
 *
 * @packageDocumentation
 */

export { BalancerKind, createBalancer, randomBalancer, roundRobin } from './balancer.ts';
export type { Balancer } from './balancer.ts';
