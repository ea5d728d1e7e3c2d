/** What `TrafficControl.observe` listeners receive for every response and mirrored copy. */
/** One response the gateway sent (or a mirrored copy's), with the subset that served it. */
export interface ResponseObservation {
  /** The route's name, as in the admin routes view and `onResponse` (`unmatched` for no route). */
  readonly route: string;
  /** The subset that served it; undefined when the route has no traffic policy or none was chosen. */
  readonly subset: string | undefined;
  /** The status sent to the client (the gateway's own errors included); 0 when nothing was sent. For a mirror: its status, 0 when it failed. */
  readonly status: number;
  readonly durationMs: number;
  /** True for a shadow copy's outcome, which never counts as client traffic. */
  readonly mirrored: boolean;
}
