/**
 * Test support for the integration tests (not exported by the package): reaching the real
 * NATS with JetStream, and removing the streams a test created.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { DEFAULT_NATS_URL } from '../options.ts';

/** How to start the NATS server the integration tests need. */
export const START_NATS =
  'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js ' +
  '-sd /var/lib/nats-server -l /var/log/nats-server.log';

/**
 * Resolves when NATS with JetStream answers at `url`; otherwise rejects with a message saying
 * how to start it. The integration tests call it first and fail (they never skip) without it.
 */
export async function requireNats(url: string = DEFAULT_NATS_URL): Promise<void> {
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    nc = await connect({ servers: url, timeout: 3000, reconnect: false });
    await jetstreamManager(nc, { timeout: 3000 });
  } catch (err) {
    throw new Error(
      `NATS with JetStream is not reachable at ${url} (${(err as Error).message}). The NATS integration ` +
        `tests need a real server and do not skip; start one with: ${START_NATS}`,
    );
  } finally {
    await nc?.close();
  }
}

/** A stream name and subject prefix no other test run uses. */
export function randomNames(label: string): { stream: string; subjectPrefix: string } {
  const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  return { stream: `SYTEST_${label}_${suffix}`, subjectPrefix: `sytest.${label}.${suffix}` };
}

/** Deletes `stream` (and with it its consumers); a missing stream is fine. */
export async function deleteStream(stream: string, url: string = DEFAULT_NATS_URL): Promise<void> {
  const nc = await connect({ servers: url, timeout: 3000, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}
