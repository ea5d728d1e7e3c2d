import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, type JsonValue } from '@switchyard/core';
import { createBusMessage } from './bus-message.ts';

describe('createBusMessage', () => {
  it('keeps the given id, copies the headers and stamps publishedAt', () => {
    const headers = { 'sy-saga-id': 's-1' };
    const message = createBusMessage('order.approved', { a: [1, null] }, { id: 'm-1', headers }, 42);
    assert.deepEqual(message, {
      id: 'm-1',
      topic: 'order.approved',
      payload: { a: [1, null] },
      headers: { 'sy-saga-id': 's-1' },
      publishedAt: 42,
    });
    assert.notEqual(message.headers, headers);
    assert.ok(Object.isFrozen(message) && Object.isFrozen(message.headers));
  });

  it('generates distinct UUIDs when no id is given', () => {
    const a = createBusMessage('t', 1, undefined, 0).id;
    const b = createBusMessage('t', 1, undefined, 0).id;
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(a, b);
  });

  it('accepts a null-prototype object and repeated (non-circular) references', () => {
    const shared = { x: 1 };
    const bare = Object.assign(Object.create(null) as Record<string, JsonValue>, { k: 'v' });
    assert.doesNotThrow(() => createBusMessage('t', { one: shared, two: shared, bare }, undefined, 0));
  });

  it('names the path of the first non-JSON value', () => {
    assert.throws(
      () => createBusMessage('t', { items: [1, { when: new Date(0) }] } as unknown as JsonValue, undefined, 0),
      (err) =>
        isSwitchyardError(err, 'SY_BUS_INVALID_MESSAGE') &&
        err.message.includes('payload.items[1].when: expected a JSON value, got a Date'),
    );
    assert.throws(
      () => createBusMessage('t', Number.NaN, undefined, 0),
      (err) => isSwitchyardError(err, 'SY_BUS_INVALID_MESSAGE') && err.message.includes('got NaN'),
    );
  });

  it('rejects an over-long id, a bad topic, and an aborted signal first', () => {
    assert.throws(
      () => createBusMessage('t', 1, { id: 'x'.repeat(201) }, 0),
      (err) => isSwitchyardError(err, 'SY_BUS_INVALID_MESSAGE'),
    );
    assert.throws(
      () => createBusMessage('t.*', 1, undefined, 0),
      (err) => isSwitchyardError(err, 'SY_BUS_INVALID_TOPIC'),
    );
    assert.throws(
      () => createBusMessage('t', 1, { signal: AbortSignal.abort() }, 0),
      (err) => isSwitchyardError(err, 'SY_CANCELLED'),
    );
  });
});
