/**
 * Process-wide telemetry state, shared through `globalThis` so two copies of
 * `@switchyard/telemetry` (duplicate installs) agree on whether telemetry is set up, as the
 * OpenTelemetry API does for its own globals.
 */

/** The state every copy of the package reads. */
export interface TelemetryState {
  /**
   * Bumped on every setup and shutdown. Tracers handed out by `getTracer()` compare it on each
   * `startSpan` (one integer compare) and re-resolve their OpenTelemetry tracer when it moved,
   * because the API's proxy tracers keep their first delegate forever.
   */
  generation: number;
  /** The service name of the active setup, or `undefined` when telemetry is not set up. */
  activeService: string | undefined;
}

const key = Symbol.for('switchyard.telemetry.state');

function initialState(): TelemetryState {
  const holder = globalThis as unknown as Record<symbol, TelemetryState | undefined>;
  let state = holder[key];
  if (state === undefined) {
    state = { generation: 0, activeService: undefined };
    holder[key] = state;
  }
  return state;
}

/** The one state object of this process. */
export const telemetryState: TelemetryState = initialState();
