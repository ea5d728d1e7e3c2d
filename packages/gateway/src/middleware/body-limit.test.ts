import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import type { GatewayContext } from '../middleware.ts';
import { bodyLimit } from './body-limit.ts';
import { parseByteSize } from './byte-size.ts';

function ctxWith(headers: Record<string, string>): GatewayContext {
  return { req: { headers } as unknown as IncomingMessage } as GatewayContext;
}

describe('parseByteSize', () => {
  test('bytes, and kb/mb/gb 1024-based, case-insensitive', () => {
    assert.equal(parseByteSize(500), 500);
    assert.equal(parseByteSize('500'), 500);
    assert.equal(parseByteSize('512b'), 512);
    assert.equal(parseByteSize('10KB'), 10_240);
    assert.equal(parseByteSize('1mb'), 1_048_576);
    assert.equal(parseByteSize('1.5 kb'), 1536);
    assert.equal(parseByteSize('2gb'), 2 * 1024 ** 3);
  });

  test('anything else is not a size', () => {
    for (const bad of ['', 'mb', '1 megabyte', '-1kb', '1tb', '0x10', -1, 1.5, Number.NaN]) {
      assert.equal(parseByteSize(bad), undefined, String(bad));
    }
  });
});

describe('bodyLimit', () => {
  test('a Content-Length over the limit is refused before the next handler', async () => {
    let reached = false;
    const handler = bodyLimit('1kb')(async () => {
      reached = true;
    });
    await assert.rejects(handler(ctxWith({ 'content-length': '1025' })), (err: unknown) => {
      assert.ok(isSwitchyardError(err, 'SY_GATEWAY_PAYLOAD_TOO_LARGE'));
      assert.deepEqual(err.details, { contentLength: 1025, limit: 1024 });
      return true;
    });
    assert.equal(reached, false);
  });

  test('a body within the limit, or without Content-Length, passes with ctx.bodyLimit set', async () => {
    const seen: (number | undefined)[] = [];
    const handler = bodyLimit('1kb')(async (ctx) => {
      seen.push(ctx.bodyLimit);
    });
    await handler(ctxWith({ 'content-length': '1024' }));
    await handler(ctxWith({ 'transfer-encoding': 'chunked' }));
    assert.deepEqual(seen, [1024, 1024]);
  });

  test('nested limits keep the smallest', async () => {
    let limit: number | undefined;
    const inner = bodyLimit(4096)(async (ctx) => {
      limit = ctx.bodyLimit;
    });
    await bodyLimit(100)(inner)(ctxWith({}));
    assert.equal(limit, 100);
    await bodyLimit('1mb')(bodyLimit(4096)(inner))(ctxWith({}));
    assert.equal(limit, 4096);
  });

  test('a bad size fails at construction', () => {
    assert.throws(
      () => bodyLimit('lots'),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID'),
    );
  });
});
