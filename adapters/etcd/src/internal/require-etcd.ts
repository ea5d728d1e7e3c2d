/**
 * Test support for the integration tests (not exported by the package): reaching the real etcd,
 * giving each test its own key prefix, waiting for a watcher's lists with a deadline.
 */
import type { ServiceInstance } from '@switchyard/core';
import type { DiscoveryWatcher } from '@switchyard/discovery';
import { Etcd3 } from 'etcd3';

/** The etcd the integration tests use: `SWITCHYARD_ETCD_URL`, else the loopback one `.ci/run` starts. */
export const ETCD_URL = process.env.SWITCHYARD_ETCD_URL ?? 'http://127.0.0.1:23790';

/** How to start the etcd the integration tests need; CI's `.ci/run` does the same. */
export const START_ETCD =
  'etcd --name switchyard --data-dir "$(mktemp -d)" ' +
  '--listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 ' +
  '--listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 ' +
  '--initial-cluster switchyard=http://127.0.0.1:23800 &  (Debian/Ubuntu: apt-get install etcd-server)';

/**
 * Resolves when etcd answers at `url`; otherwise rejects with a message saying how to start it.
 * The integration tests call it first and fail (they never skip) without etcd.
 */
export async function requireEtcd(url: string = ETCD_URL): Promise<void> {
  const client = new Etcd3({ hosts: url, dialTimeout: 2000 });
  try {
    await client.maintenance.status({ deadline: new Date(Date.now() + 3000) });
  } catch (err) {
    throw new Error(
      `etcd is not reachable at ${url} (${err instanceof Error ? err.message : String(err)}). The etcd ` +
        `integration tests need a real etcd and do not skip; start one with: ${START_ETCD} ` +
        'or point SWITCHYARD_ETCD_URL at one.',
    );
  } finally {
    client.close();
  }
}

/** A key prefix no other test run uses. */
export function randomPrefix(label: string): string {
  return `/switchyard-test/${label}/${process.pid}-${Math.random().toString(36).slice(2, 10)}/`;
}

/** A client for the test's own reads and writes behind the registry's back. */
export function testClient(url: string = ETCD_URL): Etcd3 {
  return new Etcd3({ hosts: url, dialTimeout: 2000 });
}

/** A {@link DiscoveryWatcher} that records lists and errors and lets a test wait for one. */
export class RecordingWatcher implements DiscoveryWatcher {
  readonly lists: (readonly ServiceInstance[])[] = [];
  readonly errors: unknown[] = [];
  #waiters = new Set<() => void>();

  next(instances: readonly ServiceInstance[]): void {
    this.lists.push(instances);
    for (const wake of this.#waiters) wake();
  }

  error(err: unknown): void {
    this.errors.push(err);
    for (const wake of this.#waiters) wake();
  }

  /** The IDs of the latest list, or undefined before the first. */
  ids(): string[] | undefined {
    return this.lists.at(-1)?.map((i) => i.id);
  }

  /** Resolves once `done()` holds (checked now and after every list or error), else rejects after `ms`. */
  until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(
          new Error(
            `timed out after ${ms} ms waiting for ${what}; lists: ${JSON.stringify(this.lists.map((l) => l.map((i) => i.id)))}, errors: ${this.errors.map(String).join(' | ')}`,
          ),
        );
      }, ms);
      this.#waiters.add(wake);
    });
  }

  /** Waits until the latest list has exactly these IDs. */
  untilIds(ids: readonly string[], ms?: number): Promise<void> {
    const want = JSON.stringify(ids);
    return this.until(() => JSON.stringify(this.ids()) === want, `ids ${want}`, ms);
  }
}

/** Resolves with the value of `check()` once truthy, polling every 50 ms, else rejects after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
