import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { closedPort, instanceAt, startGateway, startRawUpstream, staticSource } from './fixtures.test.ts';

const total = 20 * 1024 * 1024;
const chunkSize = 64 * 1024;
const chunk = Buffer.alloc(chunkSize, 0x61);

/** Rejects after `ms`: a wait for an event must not hang the suite. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms}ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

async function writeAll(res: ServerResponse, bytes: number): Promise<void> {
  for (let sent = 0; sent < bytes; sent += chunkSize) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
  }
}

test('a 20 MB upload streams through: the upstream gets data before the client has sent it all', async (t) => {
  const firstChunk = Promise.withResolvers<void>();
  let clientDone = false;
  let firstChunkBeforeClientDone: boolean | undefined;
  const upstream = await startRawUpstream(t, (req, res) => {
    let bytes = 0;
    req.on('data', (data: Buffer) => {
      if (bytes === 0) {
        firstChunkBeforeClientDone = !clientDone;
        firstChunk.resolve();
      }
      bytes += data.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bytes, transferEncoding: req.headers['transfer-encoding'] ?? null }));
    });
  });
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/upload', service: 'files' }] },
    staticSource({ files: [instanceAt('files', upstream.port)] }),
  );
  const agent = new Agent();
  t.after(() => agent.close());

  async function* upload(): AsyncGenerator<Buffer> {
    yield chunk;
    // Holding back the other 19.9 MB until the upstream has seen the first chunk fails the test
    // (by the deadline) if the gateway waits for the whole body before forwarding it.
    await within(firstChunk.promise, 5_000, 'the upstream receiving the first chunk');
    for (let sent = chunkSize; sent < total; sent += chunkSize) yield chunk;
    clientDone = true;
  }

  const response = await request(`${gateway.url}/upload`, {
    method: 'POST',
    body: Readable.from(upload()),
    dispatcher: agent,
    signal: AbortSignal.timeout(15_000),
  });
  const result = (await response.body.json()) as { bytes: number; transferEncoding: string | null };
  assert.equal(response.statusCode, 200);
  assert.equal(result.bytes, total);
  assert.equal(result.transferEncoding, 'chunked');
  assert.equal(firstChunkBeforeClientDone, true);
});

test('a 20 MB download streams through: the client gets data before the upstream has sent it all', async (t) => {
  const clientGotData = Promise.withResolvers<void>();
  let upstreamDone = false;
  const upstream = await startRawUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    void (async () => {
      await writeAll(res, chunkSize);
      // The rest waits for the client: a gateway that buffered the response would deadlock here.
      await within(clientGotData.promise, 5_000, 'the client receiving the first chunk');
      await writeAll(res, total - chunkSize);
      upstreamDone = true;
      res.end();
    })().catch((err: Error) => res.destroy(err));
  });
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/download', service: 'files' }] },
    staticSource({ files: [instanceAt('files', upstream.port)] }),
  );
  const agent = new Agent();
  t.after(() => agent.close());

  const response = await request(`${gateway.url}/download`, { dispatcher: agent, signal: AbortSignal.timeout(15_000) });
  assert.equal(response.statusCode, 200);
  assert.equal(response.headers['content-length'], String(total));
  let bytes = 0;
  let dataBeforeUpstreamDone: boolean | undefined;
  for await (const data of response.body) {
    if (bytes === 0) {
      dataBeforeUpstreamDone = !upstreamDone;
      clientGotData.resolve();
    }
    bytes += (data as Buffer).length;
  }
  assert.equal(bytes, total);
  assert.equal(dataBeforeUpstreamDone, true);
});

test('a client that aborts mid-upload aborts the upstream request and leaves the gateway serving', async (t) => {
  const received = Promise.withResolvers<void>();
  const upstreamAborted = Promise.withResolvers<void>();
  const upstream = await startRawUpstream(t, (req, res) => {
    if (req.method === 'GET') {
      res.end('still here');
      return;
    }
    req.once('data', () => received.resolve());
    req.on('error', () => {});
    req.socket.once('close', () => upstreamAborted.resolve());
  });
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/', service: 'files' }] },
    staticSource({ files: [instanceAt('files', upstream.port)] }),
  );
  const client = httpRequest(`${gateway.url}/upload`, {
    method: 'POST',
    agent: false,
    headers: { 'content-length': String(total) },
  });
  client.on('error', () => {});
  client.write(chunk);
  await within(received.promise, 5_000, 'the upstream receiving the first chunk');
  client.destroy();
  await within(upstreamAborted.promise, 5_000, 'the upstream connection closing');
  const agent = new Agent();
  t.after(() => agent.close());
  const after = await request(`${gateway.url}/ok`, { dispatcher: agent, signal: AbortSignal.timeout(5_000) });
  assert.equal(await after.body.text(), 'still here');
});

test('a 502 before an upload finished closes the connection, and the client hanging up harms nothing', async (t) => {
  const port = await closedPort();
  const alive = await startRawUpstream(t, (_req, res) => res.end('alive'));
  const gateway = await startGateway(
    t,
    {
      routes: [
        { path: '/dead', service: 'dead' },
        { path: '/alive', service: 'alive' },
      ],
    },
    staticSource({ dead: [instanceAt('dead', port)], alive: [instanceAt('alive', alive.port)] }),
  );
  const client = httpRequest(`${gateway.url}/dead`, {
    method: 'POST',
    agent: false,
    headers: { 'content-length': String(total) },
  });
  client.on('error', () => {});
  client.write(chunk);
  const [response] = (await within(once(client, 'response'), 5_000, 'the 502')) as [IncomingMessage];
  assert.equal(response.statusCode, 502);
  assert.equal(response.headers.connection, 'close');
  response.resume();
  client.destroy();
  const agent = new Agent();
  t.after(() => agent.close());
  const after = await request(`${gateway.url}/alive`, { dispatcher: agent, signal: AbortSignal.timeout(5_000) });
  assert.equal(await after.body.text(), 'alive');
});

test('an upstream that stops reading an upload and never answers is a 504', async (t) => {
  const upstream = await startRawUpstream(t, (req) => {
    // Reads nothing and never answers: the gateway's writes back up until its timeout fires.
    req.pause();
  });
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/', service: 'files', timeout: '200ms' }] },
    staticSource({ files: [instanceAt('files', upstream.port)] }),
  );
  const client = httpRequest(`${gateway.url}/upload`, {
    method: 'POST',
    agent: false,
    headers: { 'content-length': String(total) },
  });
  client.on('error', () => {});
  void (async () => {
    for (let sent = 0; sent < total && !client.destroyed; sent += chunkSize) {
      if (!client.write(chunk)) await new Promise((resolve) => client.once('drain', resolve));
    }
  })();
  const [response] = (await within(once(client, 'response'), 10_000, 'the 504')) as [IncomingMessage];
  assert.equal(response.statusCode, 504);
  const body = JSON.parse((await response.toArray()).join('')) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'SY_GATEWAY_UPSTREAM_TIMEOUT');
  assert.equal(body.error.message, `upstream files (127.0.0.1:${upstream.port}) did not send headers within 200ms`);
  client.destroy();
});
