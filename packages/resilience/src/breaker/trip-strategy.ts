import type { ResolvedTripOptions } from '../breaker-options.ts';
import { ConsecutiveFailures } from './consecutive.ts';
import { CountWindow } from './count-window.ts';
import type { TripStrategy } from './strategy.ts';
import { TimeWindow } from './time-window.ts';

/** Builds the strategy for resolved trip options. */
export function createTripStrategy(trip: ResolvedTripOptions, now: number): TripStrategy {
  switch (trip.type) {
    case 'consecutive':
      return new ConsecutiveFailures(trip.failures);
    case 'count':
      return new CountWindow(trip);
    case 'time':
      return new TimeWindow(trip, now);
  }
}
