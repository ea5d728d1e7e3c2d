// A text/event-stream parser (the WHATWG "event stream interpretation", minus `id`/`retry`,
// which the admin API does not send). The dashboard reads /admin/events with fetch rather than
// EventSource because EventSource cannot send an Authorization header. Pure: node tests import it.

/**
 * @typedef {{ event: string, data: string }} SseMessage
 */

/**
 * Returns a function that takes the stream's text in chunks of any size and calls `onMessage`
 * for each complete event. Lines may end in LF, CRLF or CR; comment lines (`: ping`) are
 * skipped; several `data:` lines join with a newline; an event without data is not dispatched.
 * @param {(message: SseMessage) => void} onMessage
 * @returns {(chunk: string) => void}
 */
export function createSseParser(onMessage) {
  let buffer = '';
  let event = '';
  /** @type {string[]} */
  let data = [];
  let pendingCr = false;
  /** @param {string} line */
  const onLine = (line) => {
    if (line === '') {
      if (data.length > 0) onMessage({ event: event || 'message', data: data.join('\n') });
      event = '';
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  };
  return (chunk) => {
    let text = chunk;
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (pendingCr && text.startsWith('\n')) text = text.slice(1);
    pendingCr = false;
    buffer += text;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      onLine(buffer.slice(start, i));
      if (c === '\r') {
        if (i + 1 === buffer.length) pendingCr = true;
        else if (buffer[i + 1] === '\n') i++;
      }
      start = i + 1;
    }
    buffer = buffer.slice(start);
  };
}

/**
 * The delay before reconnect attempt `attempt` (1, 2, 3...): 1 s doubling to at most 15 s.
 * @param {number} attempt
 * @returns {number}
 */
export function reconnectDelayMs(attempt) {
  return Math.min(15_000, 1000 * 2 ** Math.max(0, attempt - 1));
}
