// Formatting of the numbers, times and states the admin API returns. Pure: no DOM, no clock
// (the caller passes `now`), so node tests import it as it is served.

/**
 * A duration in milliseconds as people read it: `850 µs`, `12.3 ms`, `1.25 s`, `2 min 05 s`.
 * @param {number} ms
 * @returns {string}
 */
export function formatDuration(ms) {
  if (!Number.isFinite(ms)) return '–';
  const abs = Math.abs(ms);
  const sign = ms < 0 ? '-' : '';
  if (abs === 0) return '0 ms';
  if (abs < 1) return `${sign}${Math.round(abs * 1000)} µs`;
  if (abs < 10) return `${sign}${trim(abs.toFixed(2))} ms`;
  if (abs < 100) return `${sign}${trim(abs.toFixed(1))} ms`;
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 10_000) return `${sign}${trim((abs / 1000).toFixed(2))} s`;
  if (abs < 60_000) return `${sign}${trim((abs / 1000).toFixed(1))} s`;
  const totalSeconds = Math.round(abs / 1000);
  if (totalSeconds < 3600) {
    return `${sign}${Math.floor(totalSeconds / 60)} min ${pad2(totalSeconds % 60)} s`;
  }
  const minutes = Math.floor(totalSeconds / 60);
  return `${sign}${Math.floor(minutes / 60)} h ${pad2(minutes % 60)} min`;
}

/**
 * A ratio (0..1) as a percentage: `0%`, `0.5%`, `3.4%`, `42%`, `100%`.
 * @param {number} ratio
 * @returns {string}
 */
export function formatPercent(ratio) {
  if (!Number.isFinite(ratio)) return '–';
  const pct = ratio * 100;
  if (pct === 0) return '0%';
  if (Math.abs(pct) < 10) return `${trim(pct.toFixed(1))}%`;
  return `${Math.round(pct)}%`;
}

/**
 * A count, grouped: `999`, `1,234`, `12.3k`, `4.5M`.
 * @param {number} n
 * @returns {string}
 */
export function formatCount(n) {
  if (!Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs < 10_000) return Math.round(n).toLocaleString('en-US');
  if (abs < 1_000_000) return `${trim((n / 1000).toFixed(1))}k`;
  return `${trim((n / 1_000_000).toFixed(1))}M`;
}

/**
 * A rate per second: `0/s`, `<0.01/s`, `0.02/s`, `0.4/s`, `3.5/s`, `12/s`.
 * @param {number} rps
 * @returns {string}
 */
export function formatRate(rps) {
  if (!Number.isFinite(rps)) return '–';
  if (rps === 0) return '0/s';
  const abs = Math.abs(rps);
  // A quiet route still shows that it had traffic: 1 request a minute is 0.02/s, not 0/s.
  if (abs < 0.01) return '<0.01/s';
  if (abs < 1) return `${trim(rps.toFixed(2))}/s`;
  if (abs < 10) return `${trim(rps.toFixed(1))}/s`;
  return `${formatCount(rps)}/s`;
}

/**
 * How long ago (or ahead) `epochMs` is from `nowMs`: `just now`, `5 s ago`, `3 min ago`,
 * `2 h ago`, `4 d ago`, `in 10 s`.
 * @param {number} epochMs
 * @param {number} nowMs
 * @returns {string}
 */
export function formatRelative(epochMs, nowMs) {
  if (!Number.isFinite(epochMs) || !Number.isFinite(nowMs)) return '–';
  const delta = nowMs - epochMs;
  const abs = Math.abs(delta);
  if (abs < 1000) return 'just now';
  let text;
  if (abs < 60_000) text = `${Math.floor(abs / 1000)} s`;
  else if (abs < 3_600_000) text = `${Math.floor(abs / 60_000)} min`;
  else if (abs < 86_400_000) text = `${Math.floor(abs / 3_600_000)} h`;
  else text = `${Math.floor(abs / 86_400_000)} d`;
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

/**
 * A wall-clock time in local time, `YYYY-MM-DD HH:MM:SS`.
 * @param {number} epochMs
 * @returns {string}
 */
export function formatTimestamp(epochMs) {
  if (!Number.isFinite(epochMs)) return '–';
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(
    d.getMinutes(),
  )}:${pad2(d.getSeconds())}`;
}

/**
 * A local time of day with milliseconds, `HH:MM:SS.mmm`, for timelines.
 * @param {number} epochMs
 * @returns {string}
 */
export function formatClock(epochMs) {
  if (!Number.isFinite(epochMs)) return '–';
  const d = new Date(epochMs);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(
    3,
    '0',
  )}`;
}

/**
 * The first `length` characters of an id, for tables; the full id stays in the title.
 * @param {string} id
 * @param {number} [length]
 * @returns {string}
 */
export function shortId(id, length = 8) {
  return id.length <= length ? id : `${id.slice(0, length)}…`;
}

/** @typedef {'ok' | 'warn' | 'bad' | 'active' | 'neutral'} Tone */

/**
 * The tone a saga status is shown in.
 * @param {string} status
 * @returns {Tone}
 */
export function sagaStatusTone(status) {
  switch (status) {
    case 'completed':
      return 'ok';
    case 'running':
    case 'compensating':
      return 'active';
    case 'parked':
      return 'bad';
    case 'compensated':
      return 'warn';
    default:
      return 'neutral';
  }
}

/**
 * The tone of an instance's health check.
 * @param {string} health
 * @returns {Tone}
 */
export function healthTone(health) {
  if (health === 'passing') return 'ok';
  if (health === 'warning') return 'warn';
  if (health === 'critical') return 'bad';
  return 'neutral';
}

/**
 * The tone of a breaker state.
 * @param {string} state
 * @returns {Tone}
 */
export function breakerTone(state) {
  if (state === 'closed') return 'ok';
  if (state === 'half-open') return 'warn';
  if (state === 'open' || state === 'isolated') return 'bad';
  return 'neutral';
}

/**
 * The tone of a supervised process state.
 * @param {string | undefined} state
 * @returns {Tone}
 */
export function processTone(state) {
  if (state === 'running') return 'ok';
  if (state === 'starting' || state === 'restarting') return 'warn';
  if (state === 'crash-loop' || state === 'stopped') return 'bad';
  return 'neutral';
}

/** @param {string} text */
function trim(text) {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/** @param {number} n */
function pad2(n) {
  return String(n).padStart(2, '0');
}
