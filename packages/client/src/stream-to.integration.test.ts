import assert from 'node:assert/strict';
import { getEventListeners, once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { type TestContext, test } from 'node:test';
import type { HttpBodySink } from './exchange.ts';
import { fastRetry, startRawServer, staticDiscovery, within } from './fixtures.test.ts';
import { createHttpClient, type HttpClient } from './http-client.ts';
import type { HttpClientOptions } from './options.ts';

function clientFor(t: TestContext, options: HttpClientOptions): HttpClient {
  const client = createHttpClient(options);
  t.after(() => client.close());
  return client;
}

/** A sink that records what it receives and settles `done` on its end or error. */
function recordingSink(accept: (received: number) => boolean = () => true) {
  const chunks: Buffer[] = [];
  let received = 0;
  let resolveDone: (outcome: { trailers?: Readonly<Record<string, string>>; error?: Error }) => void = () => {};
  const done = new Promise<{ trailers?: Readonly<Record<string, string>>; error?: Error }>((resolve) => {
    resolveDone = resolve;
  });
  const calls = { end: 0, error: 0 };
  const sink: HttpBodySink = {
    onData(chunk) {
      chunks.push(chunk);
      received += chunk.length;
      return accept(received);
    },
    onEnd(trailers) {
      calls.end++;
      resolveDone({ trailers });
    },
    onError(error) {
      calls.error++;
      resolveDone({ error });
    },
  };
  return {
    sink,
    done,
    calls,
    text: () => Buffer.concat(chunks).toString('utf8'),
    get received() {
      return received;
    },
  };
}

/** Polls `check` until it holds; fails after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms}ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('streamTo pushes the body and then the trailers of a chunked response', async (t) => {
  const upstream = await startRawServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
    res.write('hello ');
    setImmediate(() => {
      res.addTrailers({ 'x-checksum': 'abc' });
      res.end('world');
    });
  });
  const client = clientFor(t, { discovery: staticDiscovery({ files: [upstream.instance('files')] }) });
  const response = await client.request('files', { path: '/' });
  const sink = recordingSink();
  response.streamTo(sink.sink);
  const outcome = await within(sink.done, 5000, 'the end of the body');
  assert.equal(sink.text(), 'hello world');
  assert.deepEqual(outcome.trailers, { 'x-checksum': 'abc' });
  assert.deepEqual(response.trailers, { 'x-checksum': 'abc' });
  assert.deepEqual(sink.calls, { end: 1, error: 0 });
  assert.throws(() => response.body, TypeError, 'the body cannot be read a second way');
});

test('a body read through `body` cannot also be streamed', async (t) => {
  const upstream = await startRawServer(t, (_req, res) => res.end('text'));
  const client = clientFor(t, { discovery: staticDiscovery({ files: [upstream.instance('files')] }) });
  const response = await client.request('files', { path: '/' });
  assert.equal(await response.body.text(), 'text');
  assert.throws(() => response.streamTo(recordingSink().sink), TypeError);
});

test('an upstream that dies mid-body reaches the sink as an error, once', async (t) => {
  const upstream = await startRawServer(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '1000000' });
    res.write(Buffer.alloc(1000, 'a'), () => setImmediate(() => res.socket?.destroy()));
  });
  const client = clientFor(t, { discovery: staticDiscovery({ files: [upstream.instance('files')] }) });
  const response = await client.request('files', { path: '/' });
  const sink = recordingSink();
  response.streamTo(sink.sink);
  const outcome = await within(sink.done, 5000, 'the body failure');
  assert.ok(outcome.error instanceof Error);
  assert.equal(sink.received, 1000);
  assert.deepEqual(sink.calls, { end: 0, error: 1 });
});

test('flow.abort stops the upstream mid-body and tells the sink', async (t) => {
  let upstreamRes: ServerResponse | undefined;
  const upstream = await startRawServer(t, (_req, res) => {
    upstreamRes = res;
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(16 * 1024, 'a'));
  });
  const client = clientFor(t, { discovery: staticDiscovery({ files: [upstream.instance('files')] }) });
  const response = await client.request('files', { path: '/' });
  const sink = recordingSink();
  const flow = response.streamTo(sink.sink);
  await until(() => sink.received > 0, 5000, 'the first chunk');
  const closed = once(upstreamRes as ServerResponse, 'close');
  const reason = new Error('the downstream client left');
  flow.abort(reason);
  await within(closed, 5000, 'the upstream connection closing');
  assert.equal((upstreamRes as ServerResponse).writableFinished, false, 'the upstream never finished its response');
  const outcome = await within(sink.done, 5000, 'the sink error');
  assert.equal(outcome.error, reason);
  flow.abort(new Error('again'));
  assert.deepEqual(sink.calls, { end: 0, error: 1 });
});

test("the caller's signal aborts a body being streamed", async (t) => {
  const upstream = await startRawServer(t, (_req, res) => {
    res.writeHead(200);
    res.write('start');
  });
  const client = clientFor(t, { discovery: staticDiscovery({ files: [upstream.instance('files')] }) });
  const controller = new AbortController();
  const response = await client.request('files', { path: '/', signal: controller.signal });
  const sink = recordingSink();
  response.streamTo(sink.sink);
  await until(() => sink.received > 0, 5000, 'the first chunk');
  controller.abort(new Error('caller gave up'));
  const outcome = await within(sink.done, 5000, 'the sink error');
  assert.equal((outcome.error as { code?: string }).code, 'SY_CANCELLED');
});

test('a paused sink pauses the upstream: a 32 MiB body is held back, not buffered, until resume', async (t) => {
  const total = 32 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'z');
  let written = 0;
  let blocked = false;
  const upstream = await startRawServer(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(total) });
    const pump = (): void => {
      while (written < total) {
        written += chunk.length;
        if (!res.write(chunk)) {
          blocked = true;
          res.once('drain', () => {
            blocked = false;
            pump();
          });
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const client = clientFor(t, { discovery: staticDiscovery({ files: [upstream.instance('files')] }) });
  const response = await client.request('files', { path: '/' });
  let paused = true;
  const sink = recordingSink(() => !paused);
  const flow = response.streamTo(sink.sink);
  await until(() => sink.received > 0 && blocked, 5000, 'the upstream blocking on a full socket');
  const heldAt = sink.received;
  // The upstream stays blocked while the sink is paused: only socket buffers hold the rest.
  await until(() => blocked && written < total / 2, 5000, 'the upstream staying blocked');
  assert.ok(heldAt <= 256 * 1024, `the sink got ${heldAt} bytes after asking to pause`);
  paused = false;
  flow.resume();
  const outcome = await within(sink.done, 20_000, 'the whole body');
  assert.equal(outcome.error, undefined);
  assert.equal(sink.received, total);
});

test('a retried 5xx is discarded and the last answer is streamed', async (t) => {
  let n = 0;
  const upstream = await startRawServer(t, (_req, res) => {
    n++;
    res.writeHead(n === 1 ? 503 : 200);
    res.end(n === 1 ? 'busy' : 'fine');
  });
  const client = clientFor(t, {
    discovery: staticDiscovery({ files: [upstream.instance('files')] }),
    retry: fastRetry,
  });
  const response = await client.request('files', { path: '/' });
  assert.equal(response.statusCode, 200);
  assert.equal(response.attempts, 2);
  const sink = recordingSink();
  response.streamTo(sink.sink);
  await within(sink.done, 5000, 'the end of the body');
  assert.equal(sink.text(), 'fine');
});

test('abortable: the caller aborts the attempt in flight without an abort listener on its signal', async (t) => {
  let upstreamClosed: Promise<unknown> | undefined;
  let arrived: () => void = () => {};
  const arrival = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const upstream = await startRawServer(t, (req) => {
    upstreamClosed = once(req.socket, 'close');
    arrived();
  });
  const client = clientFor(t, { discovery: staticDiscovery({ files: [upstream.instance('files')] }) });
  const controller = new AbortController();
  let abort: ((reason: unknown) => void) | undefined;
  const pending = client.request('files', {
    path: '/',
    signal: controller.signal,
    abortable: (fn) => {
      abort = fn;
    },
  });
  await within(arrival, 5000, 'the request reaching the upstream');
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'no listener on the signal');
  const reason = new Error('client left');
  controller.abort(reason);
  abort?.(reason);
  await assert.rejects(pending, (err: { code?: string; cause?: unknown }) => {
    assert.equal(err.code, 'SY_CANCELLED');
    assert.equal(err.cause, reason);
    return true;
  });
  await within(upstreamClosed as Promise<unknown>, 5000, 'the upstream connection closing');
});

test('without abortable, the signal is listened to during the exchange only', async (t) => {
  let respond: () => void = () => {};
  const upstream = await startRawServer(t, (_req, res) => {
    respond = () => res.end('done');
  });
  const client = clientFor(t, { discovery: staticDiscovery({ files: [upstream.instance('files')] }) });
  const controller = new AbortController();
  const pending = client.request('files', { path: '/', signal: controller.signal });
  await until(() => getEventListeners(controller.signal, 'abort').length === 1, 5000, 'the listener');
  respond();
  const response = await pending;
  assert.equal(await response.body.text(), 'done');
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'removed once the body ended');
});

test('abortable must be a function', async (t) => {
  const upstream = await startRawServer(t, (_req, res) => res.end());
  const client = clientFor(t, { discovery: staticDiscovery({ files: [upstream.instance('files')] }) });
  await assert.rejects(
    client.request('files', { path: '/', abortable: 'no' as unknown as () => void }),
    (err: { code?: string; message: string }) =>
      err.code === 'SY_CONFIG_INVALID' && /request\.abortable/.test(err.message),
  );
});
