import { type BackoffOptions, type Clock, exponentialBackoff, parseDuration, systemClock } from '@switchyard/core';
import { type ConsulClient, createConsulClient } from './consul-client.ts';
import { toServiceInstances } from './instances.ts';
import { describeError } from './internal/describe-error.ts';
import { subscription } from './internal/subscription.ts';
import type { DiscoverySource, DiscoveryWatcher } from './types.ts';

/** Options for {@link consulSource}. */
export interface ConsulSourceOptions {
  /** Base URL of a Consul agent or the embedded registry server, e.g. `http://127.0.0.1:8500`. */
  readonly url: string;
  /** ACL token sent as `X-Consul-Token`. @default env `SWITCHYARD_REGISTRY_TOKEN` when set */
  readonly token?: string;
  /** Client timeout of a plain call and allowance on top of a blocking wait. @default '10s' */
  readonly fetchTimeout?: number | string;
  /** Longest wait of one blocking query. Milliseconds or a duration string. @default '5m' */
  readonly wait?: number | string;
  /** Delays between retries after a failed query. @default { initialMs: 100, maxMs: 10000 } with full jitter */
  readonly backoff?: BackoffOptions;
  /** Drives retry delays. @default systemClock */
  readonly clock?: Clock;
}

/**
 * When a server answers a blocking query at once without a newer index (a proxy that ignores
 * `index`, or a wait that ran out), pause this long so the watch never spins (Consul's docs ask
 * clients to rate-limit).
 */
const unchangedPauseMs = 100;
/** Poll period for a server that sends no `X-Consul-Index` and so cannot block. */
const noIndexPollMs = 1000;

/**
 * A {@link DiscoverySource} that follows services on a Consul agent or the embedded registry server
 * with one blocking query per service (`GET /v1/health/service/:name?index=N&wait=...`). On errors
 * it retries with capped exponential backoff and full jitter, restarting from index 0 so a restarted
 * registry (whose index starts again at 1) is read at once; meanwhile the discovery client keeps
 * serving the last good list. Each start-over (an index that went backwards, or the re-list after
 * an error) is reported through the watcher's `resynced` just before the list it brings.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad `url`, `fetchTimeout` or `wait`
 * @example
 * ```ts
 * const discovery = createDiscoveryClient({ source: consulSource({ url: 'http://127.0.0.1:8500' }) });
 * const instances = await discovery.instances('orders');
 * ```
 */
export function consulSource(options: ConsulSourceOptions): DiscoverySource {
  // Like CONSUL_HTTP_TOKEN for Consul's own tools: a process pointed at a registry with an ACL
  // gets its token from the environment, so every command reading the registry sends it.
  const token = options.token ?? (process.env.SWITCHYARD_REGISTRY_TOKEN || undefined);
  const client: ConsulClient = createConsulClient({
    url: options.url,
    ...(token === undefined ? {} : { token }),
    ...(options.fetchTimeout === undefined ? {} : { fetchTimeout: options.fetchTimeout }),
  });
  const waitMs = parseDuration(options.wait ?? 300_000, 'consulSource.wait');
  const clock = options.clock ?? systemClock;
  const backoffOptions: BackoffOptions = { initialMs: 100, maxMs: 10_000, ...options.backoff };
  const active = new Set<AbortController>();
  let closed = false;

  function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = () => {
        cancel();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const cancel = clock.setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  async function follow(service: string, watcher: DiscoveryWatcher, signal: AbortSignal): Promise<void> {
    const delay = exponentialBackoff(backoffOptions);
    let index = 0;
    let failures = 0;
    /** Why the next list is a fresh start rather than a continuation, reported just before it. */
    let resync: string | undefined;
    while (!signal.aborted) {
      try {
        const result = await client.healthService(service, { index, wait: waitMs, signal });
        failures = 0;
        if (signal.aborted) return;
        const unchanged = index > 0 && result.index === index;
        // An index that goes backwards means the registry was reset: start over (Consul's rule).
        if (result.index < index) resync = `consul index went backwards (${index} -> ${result.index})`;
        index = result.index < index ? 0 : result.index;
        if (!unchanged) {
          if (resync !== undefined) watcher.resynced?.(resync);
          resync = undefined;
          watcher.next(toServiceInstances(result.entries));
        }
        if (result.index === 0) await sleep(noIndexPollMs, signal);
        else if (unchanged) await sleep(unchangedPauseMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        watcher.error(err);
        failures += 1;
        // Only a watch that had an index loses its place; one that never listed just lists.
        if (index > 0) resync = `consul query failed, listing again from index 0 (${describeError(err)})`;
        index = 0;
        await sleep(delay(failures), signal);
      }
    }
  }

  return {
    watch(service, watcher) {
      const controller = new AbortController();
      if (closed) controller.abort();
      active.add(controller);
      follow(service, watcher, controller.signal).catch((err: unknown) => watcher.error(err));
      return subscription(() => {
        controller.abort();
        active.delete(controller);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const controller of active) controller.abort();
      active.clear();
      await client.close();
    },
  };
}
