/**
 * The types every balancer shares: the leaf of the balancing files. Balancers, the outlier
 * detector and the `createBalancer` factory import it; it imports none of them.
 */
import type { ServiceInstance } from '@switchyard/core';
import type { InstanceStats } from '../instance-stats.ts';

/** Per-request hints to {@link Balancer.pick}. */
export interface PickOptions {
  /**
   * Sticky key for hashing balancers (a user id, a session cookie): the same key goes to the
   * same instance while the list is unchanged. Other balancers ignore it.
   */
  readonly key?: string;
}

/** Picks one instance from a list of healthy candidates. */
export interface Balancer {
  /** The chosen instance, or `undefined` when `instances` is empty. */
  pick(instances: readonly ServiceInstance[], options?: PickOptions): ServiceInstance | undefined;
  /**
   * The statistics store this balancer reads (load-aware balancers) or that callers may feed.
   * A caller that sends the request reports it here: `stats.begin(instance)` before sending and
   * `stats.end(instance, outcome)` after, so least-request and peak-EWMA see real load.
   */
  readonly stats?: InstanceStats;
}
