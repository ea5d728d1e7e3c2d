import {
  type Clock,
  type IdentitySubscription,
  invalidConfig,
  parseDuration,
  systemClock,
  type WorkloadIdentity,
  type WorkloadIdentitySource,
} from '@switchyard/core';
import { meshError } from '../errors.ts';

/** How a {@link RotatingIdentity} renews. */
export interface WorkloadIdentityOptions {
  /**
   * When to renew, as a fraction of the certificate's lifetime counted from its issue (more
   * than 0, less than 1): `2/3` renews a 1-hour certificate after 40 minutes, leaving 20 for
   * retries. @default 2/3
   */
  renewAt?: number;
  /** Wait before trying a failed renewal again. @default "1s" */
  retryDelay?: string | number;
}

/**
 * A {@link WorkloadIdentitySource} that renews itself before expiry. Pass it as `mtls.identity`
 * to `startService` and `createHttpClient`.
 */
export interface RotatingIdentity extends WorkloadIdentitySource {
  /** Renews now (listeners are told); resolves with the new identity. */
  rotate(): Promise<WorkloadIdentity>;
  /** Told of each failed renewal (`SY_MESH_IDENTITY_ROTATION_FAILED`, `cause` = the failure). */
  onError(listener: (error: Error) => void): IdentitySubscription;
  /** Stops renewing. Idempotent. */
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * Makes a {@link RotatingIdentity} from a function that obtains a fresh identity (a CA's
 * `issueWorkload`, a file read, a call to another CA). The first identity is obtained before
 * it resolves; each later one at `renewAt` of the previous one's lifetime. A failed renewal is
 * reported to `onError` listeners and tried again after `retryDelay`, the previous identity
 * staying in use meanwhile.
 *
 * @throws whatever the first `obtain()` throws
 * @example
 * ```ts
 * const identity = await workloadIdentity(() => ca.issueWorkload({ serviceAccount: 'orders' }), { renewAt: 0.5 });
 * identity.onRotate((next) => console.log('renewed until', new Date(next.notAfter)));
 * ```
 */
export async function workloadIdentity(
  obtain: () => Promise<WorkloadIdentity>,
  options: WorkloadIdentityOptions & { clock?: Clock } = {},
): Promise<RotatingIdentity> {
  const clock = options.clock ?? systemClock;
  const renewAt = options.renewAt ?? 2 / 3;
  if (!(renewAt > 0 && renewAt < 1)) {
    throw invalidConfig([
      { path: 'workloadIdentity.renewAt', message: `expected a fraction more than 0 and less than 1, got ${renewAt}` },
    ]);
  }
  const retryDelayMs = parseDuration(options.retryDelay ?? 1000, 'retryDelay');
  const rotateListeners = new Set<(identity: WorkloadIdentity) => void>();
  const errorListeners = new Set<(error: Error) => void>();
  let current = await obtain();
  let closed = false;
  let cancelTimer: (() => void) | undefined;
  let renewing: Promise<WorkloadIdentity> | undefined;

  function schedule(identity: WorkloadIdentity, issuedAt: number): void {
    cancelTimer?.();
    if (closed) return;
    const delay = Math.max(0, Math.floor((identity.notAfter - issuedAt) * renewAt));
    cancelTimer = clock.setTimeout(renewInBackground, delay);
  }

  function renewInBackground(): void {
    renew().catch(() => {
      // Reported to onError listeners by renew(); tried again after retryDelay.
    });
  }

  function renew(): Promise<WorkloadIdentity> {
    renewing ??= (async () => {
      try {
        const issuedAt = clock.now();
        const next = await obtain();
        if (closed) return next;
        current = next;
        schedule(next, issuedAt);
        for (const listener of [...rotateListeners]) {
          try {
            listener(next);
          } catch {
            // A listener's failure must not stop the others from getting the new identity.
          }
        }
        return next;
      } catch (err) {
        const error = meshError(
          'SY_MESH_IDENTITY_ROTATION_FAILED',
          `renewing ${current.spiffeId} failed (${(err as Error).message}); the certificate valid until ${new Date(current.notAfter).toISOString()} stays in use, retrying in ${retryDelayMs}ms`,
          { cause: err, details: { spiffeId: current.spiffeId } },
        );
        for (const listener of [...errorListeners]) {
          try {
            listener(error);
          } catch {
            // Same as above.
          }
        }
        if (!closed) {
          cancelTimer?.();
          cancelTimer = clock.setTimeout(renewInBackground, retryDelayMs);
        }
        throw error;
      } finally {
        renewing = undefined;
      }
    })();
    return renewing;
  }

  schedule(current, clock.now());

  const close = (): void => {
    closed = true;
    cancelTimer?.();
    cancelTimer = undefined;
  };
  return {
    current: () => current,
    onRotate: (listener) => subscribe(rotateListeners, listener),
    onError: (listener) => subscribe(errorListeners, listener),
    rotate: renew,
    close,
    [Symbol.dispose]: close,
  };
}

/** Adds `listener` to `set`; the returned subscription removes it. */
export function subscribe<T>(set: Set<T>, listener: T): IdentitySubscription {
  set.add(listener);
  const dispose = (): void => {
    set.delete(listener);
  };
  return { dispose, [Symbol.dispose]: dispose };
}
