import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { attemptBody } from './attempt-body.ts';

async function text(stream: Readable): Promise<string> {
  return Buffer.concat(await stream.toArray()).toString('utf8');
}

test('an attempt destroyed before reading leaves the whole source to the next one', async () => {
  const source = new PassThrough();
  source.end('the whole body');
  const first = attemptBody(source);
  first.stream.on('error', () => {});
  first.stream.destroy(new Error('ECONNREFUSED'));
  assert.equal(first.touched, false);
  assert.equal(source.destroyed, false);
  const second = attemptBody(source);
  assert.equal(await text(second.stream), 'the whole body');
  assert.equal(second.touched, true);
});

test('a read attempt is touched; reading follows the source with back-pressure', async () => {
  let produced = 0;
  const source = new Readable({
    highWaterMark: 4,
    read() {
      produced++;
      this.push(produced <= 100 ? 'abcd' : null);
    },
  });
  const body = attemptBody(source);
  assert.equal(produced, 0, 'nothing is pulled before the consumer asks');
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(produced <= 2, `only what fits in the buffers was produced (${produced})`);
  assert.equal((await text(body.stream)).length, 400);
  assert.equal(body.touched, true);
});

test('a source error destroys the attempt; a destroyed or ended source is handled', async () => {
  const source = new PassThrough();
  const body = attemptBody(source);
  const failed = text(body.stream);
  source.destroy(new Error('client went away'));
  await assert.rejects(failed, /client went away/);

  const gone = new PassThrough();
  gone.on('error', () => {});
  gone.destroy(new Error('gone'));
  await assert.rejects(text(attemptBody(gone).stream), /gone/);

  const ended = Readable.from([]);
  await text(ended);
  assert.equal(await text(attemptBody(ended).stream), '');
});
