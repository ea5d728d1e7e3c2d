import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway } from '@switchyard/gateway';

// The certificate and key, made for example with:
//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
//     -keyout tls/server.key -out tls/server.crt -subj /CN=localhost -addext subjectAltName=DNS:localhost
const cert = process.env.TLS_CERT ?? 'tls/server.crt';
const key = process.env.TLS_KEY ?? 'tls/server.key';

// A plain HTTP upstream: TLS ends at the gateway.
const upstream = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(
    JSON.stringify({ url: req.url, proto: req.headers['x-forwarded-proto'], host: req.headers['x-forwarded-host'] }),
  );
});
upstream.listen(0, '127.0.0.1');
await once(upstream, 'listening');

const gateway = await createGateway({
  options: {
    listeners: [
      // HTTPS with HTTP/2 and HTTP/1.1 on one port; browsers are told to stay on HTTPS.
      {
        host: '127.0.0.1',
        port: Number(process.env.HTTPS_PORT ?? 8443),
        tls: { certificates: [{ cert, key }] },
        hsts: { maxAge: 31_536_000 },
      },
      // Plain HTTP answers 308 to the same URL over HTTPS.
      { host: '127.0.0.1', port: Number(process.env.HTTP_PORT ?? 8080), redirectToHttps: {} },
    ],
    routes: [{ path: '/api', upstreams: [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`] }],
  },
});
for (const listener of gateway.listeners) console.log(`gateway listening on ${listener.url}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await gateway.close();
    upstream.close();
  });
}
