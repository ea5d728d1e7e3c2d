// The live feed: /admin/events read with fetch (so the bearer token goes along), reconnecting
// with backoff; after repeated failures the snapshots are polled until the stream is back.

import { authHeaders, getToken, notifyUnauthorized } from './api.js';
import { createSseParser, reconnectDelayMs } from './sse.js';

/** Failed connects in a row before polling starts. */
const failuresBeforePolling = 2;
const pollIntervalMs = 5000;
/** The server pings every 15 s; a silent stream is reconnected after this. */
const silenceLimitMs = 40_000;

/**
 * @typedef {'connecting' | 'live' | 'reconnecting' | 'polling' | 'unauthorized'} LiveStatus
 * @typedef {{
 *   onEvent: (name: string, data: unknown) => void,
 *   onStatus: (status: LiveStatus) => void,
 *   poll: () => Promise<void>,
 * }} LiveOptions
 */

/**
 * Starts the feed. Returns `restart()` (after a new token) and `stop()`.
 * @param {LiveOptions} options
 */
export function startLive(options) {
  let stopped = false;
  let failures = 0;
  /** @type {AbortController | null} */
  let current = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let retryTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let pollTimer;
  /** @type {LiveStatus} */
  let status = 'connecting';

  /** @param {LiveStatus} next */
  const setStatus = (next) => {
    status = next;
    options.onStatus(next);
  };
  const startPolling = () => {
    if (pollTimer !== undefined) return;
    options.poll().catch(() => {});
    pollTimer = setInterval(() => options.poll().catch(() => {}), pollIntervalMs);
  };
  const stopPolling = () => {
    clearInterval(pollTimer);
    pollTimer = undefined;
  };

  const connect = async () => {
    if (stopped) return;
    const controller = new AbortController();
    current = controller;
    let lastByteAt = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastByteAt > silenceLimitMs) controller.abort();
    }, 5000);
    const tokenUsed = getToken();
    try {
      const res = await fetch('/admin/events', {
        headers: authHeaders({ accept: 'text/event-stream' }),
        signal: controller.signal,
        cache: 'no-store',
      });
      if (res.status === 401) {
        // Wait for a new token (restart()); a 401 to a replaced token is not this one's answer.
        if (tokenUsed === getToken()) {
          setStatus('unauthorized');
          notifyUnauthorized(tokenUsed);
        }
        return;
      }
      if (!res.ok || !res.body) throw new Error(`events answered ${res.status}`);
      failures = 0;
      stopPolling();
      setStatus('live');
      const parse = createSseParser((message) => {
        /** @type {unknown} */
        let data;
        try {
          data = JSON.parse(message.data);
        } catch {
          return;
        }
        options.onEvent(message.event, data);
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        lastByteAt = Date.now();
        parse(value);
      }
    } catch {
      // Refused, reset or aborted by the watchdog: reconnect below.
    } finally {
      clearInterval(watchdog);
    }
    if (stopped || current !== controller) return;
    failures++;
    if (failures >= failuresBeforePolling) {
      setStatus('polling');
      startPolling();
    } else {
      setStatus('reconnecting');
    }
    retryTimer = setTimeout(connect, reconnectDelayMs(failures));
  };

  setStatus('connecting');
  connect();

  return {
    /** The current status. */
    status: () => status,
    /** Drops the stream and connects again at once (e.g. with a new token). */
    restart() {
      clearTimeout(retryTimer);
      current?.abort();
      current = null;
      failures = 0;
      setStatus('connecting');
      connect();
    },
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
      stopPolling();
      current?.abort();
    },
  };
}
