import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSseParser, reconnectDelayMs, type SseMessage } from '../assets/sse.js';

function parseAll(chunks: string[]): SseMessage[] {
  const out: SseMessage[] = [];
  const feed = createSseParser((m) => out.push(m));
  for (const c of chunks) feed(c);
  return out;
}

describe('createSseParser', () => {
  it('dispatches named events and skips comments', () => {
    assert.deepEqual(parseAll([': connected\n\nevent: breakers\ndata: {"a":1}\n\n: ping\n\n']), [
      { event: 'breakers', data: '{"a":1}' },
    ]);
  });
  it('reassembles events split anywhere across chunks, CRLF included', () => {
    const text = 'event: saga\r\ndata: {"id":"x"}\r\n\r\nevent: trace\rdata: 1\r\r';
    for (let cut = 1; cut < text.length; cut++) {
      assert.deepEqual(
        parseAll([text.slice(0, cut), text.slice(cut)]),
        [
          { event: 'saga', data: '{"id":"x"}' },
          { event: 'trace', data: '1' },
        ],
        `cut at ${cut}`,
      );
    }
  });
  it('joins data lines, defaults the event name, and drops events without data', () => {
    assert.deepEqual(parseAll(['data: a\ndata:b\n\nevent: empty\n\n']), [{ event: 'message', data: 'a\nb' }]);
  });
  it('waits for the blank line before dispatching', () => {
    assert.deepEqual(parseAll(['event: red\ndata: []\n']), []);
  });
});

describe('reconnectDelayMs', () => {
  it('doubles from 1 s up to 15 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(reconnectDelayMs), [1000, 2000, 4000, 8000, 15_000, 15_000]);
  });
});
