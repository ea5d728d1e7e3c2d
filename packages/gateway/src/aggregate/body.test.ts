import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { readCallBody } from './body.ts';

const target = { name: 'user', service: 'users' };
const source = (chunks: string[], headers: Record<string, string> = {}) => ({
  headers,
  body: Readable.from(chunks.map((c) => Buffer.from(c))),
});

test('JSON by content type (including +json), text otherwise, null when empty', async () => {
  assert.deepEqual(await readCallBody(source(['{"id":', '1}'], { 'content-type': 'application/json' }), 100, target), {
    id: 1,
  });
  assert.deepEqual(
    await readCallBody(source(['[1]'], { 'content-type': 'application/problem+json; charset=utf-8' }), 100, target),
    [1],
  );
  assert.equal(await readCallBody(source(['{"id":1}'], { 'content-type': 'text/plain' }), 100, target), '{"id":1}');
  assert.equal(await readCallBody(source(['héllo']), 100, target), 'héllo');
  assert.equal(await readCallBody(source([], { 'content-type': 'application/json' }), 100, target), null);
});

test('invalid JSON fails the call', async () => {
  await assert.rejects(
    readCallBody(source(['{nope'], { 'content-type': 'application/json' }), 100, target),
    (err) =>
      isSwitchyardError(err, 'SY_GATEWAY_UPSTREAM_FAILED') &&
      /call "user" to users: the body is not valid JSON/.test(err.message),
  );
});

test('a body over the bound fails: by its Content-Length before reading, or as it arrives', async () => {
  const declared = source(['x'], { 'content-length': '11' });
  await assert.rejects(
    readCallBody(declared, 10, target),
    (err) => isSwitchyardError(err, 'SY_GATEWAY_AGGREGATE_BODY_TOO_LARGE') && /declares 11 bytes/.test(err.message),
  );
  assert.ok(declared.body.destroyed);
  const streamed = source(['12345', '67890', 'X', 'never read']);
  await assert.rejects(
    readCallBody(streamed, 10, target),
    (err) =>
      isSwitchyardError(err, 'SY_GATEWAY_AGGREGATE_BODY_TOO_LARGE') &&
      err.message ===
        'call "user" to users: the body is larger than maxBodySize (10 bytes): the response sent more than that',
  );
  assert.ok(streamed.body.destroyed);
  assert.equal(await readCallBody(source(['12345', '67890']), 10, target), '1234567890', 'exactly the bound is fine');
});
