/**
 * The part of the gateway's traffic control a rollout uses (`gateway.traffic`), by shape, so
 * rollouts run against any implementation: the gateway's, or a fake in tests.
 */

/** One subset's share of a route's traffic, 0 to 100. */
export interface RolloutSubsetWeight {
  readonly subset: string;
  readonly weight: number;
}

/** One response as the traffic control reports it. */
export interface RolloutObservation {
  /** Route name (its path when unnamed). */
  readonly route: string;
  /** The subset that served it; undefined without a traffic policy. */
  readonly subset: string | undefined;
  /** Status sent to the client. */
  readonly status: number;
  readonly durationMs: number;
  /** A mirrored copy's outcome: never counted. */
  readonly mirrored: boolean;
}

/** What a rollout needs of the gateway: set a route's split, read it, observe responses. */
export interface RolloutTrafficControl {
  /** Overrides a route's split (`undefined` restores the config's); throws on an unknown route or subset. */
  setSplit(route: string, split: readonly RolloutSubsetWeight[] | undefined): void;
  /** The split in force for a route, or undefined when it has none. */
  split(route: string): readonly RolloutSubsetWeight[] | undefined;
  /** Every response with the subset that served it. */
  observe(listener: (o: RolloutObservation) => void): { dispose(): void };
}
