/**
 * The Node ceiling of `npm run bench -- gateway`: node:http in front of one undici `Pool`,
 * forwarding method, path and headers (minus hop-by-hop ones) and writing the response back
 * straight from undici's dispatch handler (no intermediate stream), with no routing,
 * balancing or policy. Prints `READY <port>`.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Dispatcher, Pool } from 'undici';

const pool = new Pool(`http://127.0.0.1:${process.env.UPSTREAM_PORT}`, { connections: 64 });
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te']);

function strip(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>) {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !hopByHop.has(name)) out[name] = value;
  }
  return out;
}

/**
 * Relays one upstream response to `res`, pausing undici while `res` is full. Writes are corked
 * until the next tick, so the head and the chunks undici hands over in one read leave in one
 * `writev` instead of one syscall each.
 */
function relay(res: ServerResponse): Dispatcher.DispatchHandler {
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  const cork = () => {
    if (corked) return;
    corked = true;
    res.cork();
    process.nextTick(uncork);
  };
  return {
    onRequestStart() {},
    onResponseStart(controller, statusCode, headers) {
      if (res.destroyed) {
        controller.abort(new Error('client gone'));
        return;
      }
      cork();
      res.writeHead(statusCode, strip(headers));
      res.on('drain', () => controller.resume());
      res.once('close', () => {
        if (!res.writableFinished) controller.abort(new Error('client gone'));
      });
    },
    onResponseData(controller, chunk) {
      cork();
      if (!res.write(chunk)) controller.pause();
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError() {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-length': 0 });
        res.end();
      } else res.destroy();
    },
  };
}

const server = createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch(
    { method: req.method as 'GET', path: req.url ?? '/', headers: strip(req.headers), body: hasBody ? req : null },
    relay(res),
  );
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`READY ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
