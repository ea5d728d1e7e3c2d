import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { test } from 'node:test';
import { instanceAt, startGateway, startRawUpstream, staticSource } from './fixtures.test.ts';

const chunk = Buffer.alloc(64 * 1024, 0x62);

/** Rejects after `ms`: a wait for an event must not hang the suite. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms}ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it holds; fails after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms}ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** An upstream writing `total` bytes with back-pressure, recording how far it got. */
function streamingUpstream(total: number) {
  const state = { written: 0, blocked: false, res: undefined as ServerResponse | undefined };
  const handler = (_req: IncomingMessage, res: ServerResponse): void => {
    state.res = res;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    const pump = (): void => {
      while (state.written < total) {
        state.written += chunk.length;
        if (!res.write(chunk)) {
          state.blocked = true;
          res.once('drain', () => {
            state.blocked = false;
            pump();
          });
          return;
        }
      }
      res.end();
    };
    pump();
  };
  return { state, handler };
}

/** Opens a GET to the gateway and resolves with the response, not reading it yet. */
function open(url: string, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest({ host: target.hostname, port: target.port, path, agent: false });
    req.on('error', reject);
    req.on('response', resolve);
    req.end();
  });
}

test('a client that stops reading holds the upstream back: a 64 MiB body is not buffered in the gateway', async (t) => {
  const total = 64 * 1024 * 1024;
  const upstream = streamingUpstream(total);
  const { port } = await startRawUpstream(t, upstream.handler);
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/big', service: 'files' }] },
    staticSource({ files: [instanceAt('files', port)] }),
  );
  const response = await within(open(gateway.url, '/big'), 5000, 'the response headers');
  response.pause();
  await until(() => upstream.state.blocked, 5000, 'the upstream blocking on a full socket');
  // Still blocked a moment later, far from the end: only socket buffers hold the body.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(upstream.state.blocked, true);
  assert.ok(upstream.state.written < total / 4, `the upstream wrote ${upstream.state.written} bytes`);
  let received = 0;
  response.on('data', (data: Buffer) => {
    received += data.length;
  });
  response.resume();
  await within(once(response, 'end'), 20_000, 'the whole body');
  assert.equal(received, total);
});

test('a client that disconnects mid-body aborts the upstream response', async (t) => {
  const total = 64 * 1024 * 1024;
  const upstream = streamingUpstream(total);
  const { port } = await startRawUpstream(t, upstream.handler);
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/big', service: 'files' }] },
    staticSource({ files: [instanceAt('files', port)] }),
  );
  const response = await within(open(gateway.url, '/big'), 5000, 'the response headers');
  await within(once(response, 'data'), 5000, 'the first chunk');
  const upstreamClosed = once(upstream.state.res as ServerResponse, 'close');
  response.destroy();
  await within(upstreamClosed, 5000, 'the upstream response closing');
  assert.equal((upstream.state.res as ServerResponse).writableFinished, false);
  assert.ok(upstream.state.written < total, 'the upstream was stopped before the end');
});

test('an upstream that dies mid-body cuts the client connection', async (t) => {
  const { port } = await startRawUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '1000000' });
    res.write(chunk, () => setImmediate(() => res.socket?.destroy()));
  });
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/dies', service: 'files' }] },
    staticSource({ files: [instanceAt('files', port)] }),
  );
  const response = await within(open(gateway.url, '/dies'), 5000, 'the response headers');
  let received = 0;
  response.on('data', (data: Buffer) => {
    received += data.length;
  });
  const [err] = (await within(once(response, 'error'), 5000, 'the client seeing the cut')) as [NodeJS.ErrnoException];
  assert.ok(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE'].includes(err.code ?? ''), String(err.code));
  assert.ok(received < 1_000_000);
});

test('a middleware that replaces ctx.signal still gets the upstream aborted when the client leaves', async (t) => {
  let upstreamClosed: Promise<unknown> | undefined;
  let arrived: () => void = () => {};
  const arrival = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const { port } = await startRawUpstream(t, (req) => {
    upstreamClosed = once(req.socket, 'close');
    arrived();
  });
  let seenSignal: AbortSignal | undefined;
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/hold', service: 'hold' }] },
    staticSource({ hold: [instanceAt('hold', port)] }),
    {
      middleware: [
        (next) => (ctx) => {
          seenSignal = AbortSignal.any([ctx.signal]);
          return next({ ...ctx, signal: seenSignal });
        },
      ],
    },
  );
  const target = new URL(gateway.url);
  const req = httpRequest({ host: target.hostname, port: target.port, path: '/hold', agent: false });
  req.on('error', () => {});
  req.end();
  await within(arrival, 5000, 'the request reaching the upstream');
  req.destroy();
  await within(upstreamClosed as Promise<unknown>, 5000, 'the upstream connection closing');
  assert.equal(seenSignal?.aborted, true);
});
