/**
 * The upstream of `npm run bench -- gateway`: a keep-alive node:http server answering
 * `GET /small` with a 100-byte body and `GET /large` with a 64 KiB body (anything else: 404).
 * Bodies are prebuilt so the upstream does as little as it can per request. Prints
 * `READY <port>` once listening on 127.0.0.1 (port 0: one the system picks).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const small = Buffer.alloc(100, 'a');
const large = Buffer.alloc(64 * 1024, 'b');

const server = createServer((req, res) => {
  const body = req.url === '/small' ? small : req.url === '/large' ? large : undefined;
  if (body === undefined) {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
});
// wrk keeps its connections for the whole run; the default 5 s idle timeout would cut the
// proxies' pooled connections between runs.
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`READY ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
