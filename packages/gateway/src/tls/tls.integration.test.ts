import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { type ClientHttp2Session, connect as h2connect, type IncomingHttpHeaders } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { isSwitchyardError } from '@switchyard/core';
import { Agent, request } from 'undici';
import { instanceAt, startRawUpstream, startUpstream, staticSource } from '../fixtures.test.ts';
import { createGateway, type Gateway } from '../gateway.ts';
import type { GatewayInput } from '../handler.ts';
import type { GatewayOptions } from '../options.ts';
import type { GatewayLogger } from '../ports.ts';
import { createTestPki, type Pair, type TestPki } from './fixtures.test.ts';

const run = promisify(execFile);

let pki: TestPki;
let a: Pair; // a.test, also the default certificate
let wild: Pair; // *.example.com
let expired: Pair;
let client: Pair; // a client certificate signed by the CA
let other: TestPki; // a CA nobody trusts
let upstreamPair: Pair; // the https upstream's certificate: IP 127.0.0.1

before(() => {
  pki = createTestPki('ca');
  a = pki.leaf('a', ['DNS:a.test', 'DNS:localhost', 'IP:127.0.0.1']);
  wild = pki.leaf('wild', ['DNS:*.example.com']);
  expired = pki.leaf('expired', ['DNS:a.test'], { expired: true });
  client = pki.leaf('client', [], { client: true });
  upstreamPair = pki.leaf('upstream', ['IP:127.0.0.1', 'DNS:localhost']);
  other = createTestPki('other');
});
after(() => {
  pki.remove();
  other.remove();
});

interface LogLine {
  readonly level: string;
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

function recordingLogger(): { logger: GatewayLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg });
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

async function start(
  t: TestContext,
  options: Omit<GatewayOptions, 'routes'> & Partial<Pick<GatewayOptions, 'routes'>>,
  extra: Omit<GatewayInput, 'options'> = {},
): Promise<Gateway> {
  const gateway = await createGateway({ options: { routes: [], ...options }, ...extra });
  t.after(() => gateway.close());
  return gateway;
}

/** Handshakes with `servername` and returns what the server presented. */
async function handshake(
  port: number,
  servername: string | undefined,
  extra: { cert?: string; key?: string; alpn?: string[] } = {},
): Promise<{ peer: PeerCertificate; alpn: string | false; socket: TLSSocket }> {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    ...(servername === undefined ? {} : { servername }),
    ca: readFileSync(pki.ca),
    ...(extra.cert === undefined ? {} : { cert: readFileSync(extra.cert), key: readFileSync(extra.key ?? '') }),
    ALPNProtocols: extra.alpn ?? ['http/1.1'],
    // SNI names the tests use are checked through the certificate, not the hostname.
    checkServerIdentity: () => undefined,
  });
  await once(socket, 'secureConnect');
  const peer = socket.getPeerCertificate();
  const alpn = socket.alpnProtocol ?? false;
  socket.destroy();
  return { peer, alpn, socket };
}

function tlsListener(certificates: Pair[], more: Record<string, unknown> = {}) {
  return { host: '127.0.0.1', port: 0, tls: { certificates: certificates.map((c) => ({ ...c })), ...more } };
}

function h2request(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let head: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ headers: head, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

async function issuesOf(options: GatewayOptions): Promise<string[]> {
  try {
    await createGateway({ options });
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    return (err.details.issues as { path: string; message: string }[]).map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

describe('TLS listeners: config', () => {
  test('unreadable files, a key of another certificate and an expired certificate are named by path', async () => {
    const issues = await issuesOf({
      listeners: [
        {
          port: 0,
          tls: {
            certificates: [
              { cert: a.cert, key: a.key },
              { cert: join(pki.dir, 'missing.crt'), key: a.key },
              { cert: a.cert, key: wild.key },
              { cert: expired.cert, key: expired.key },
            ],
          },
        },
      ],
      routes: [],
    });
    assert.equal(issues.length, 3, issues.join('\n'));
    assert.match(
      issues[0] ?? '',
      /^gateway\.listeners\[0\]\.tls\.certificates\[1\]\.cert: cannot read ".*missing\.crt": ENOENT/,
    );
    assert.match(
      issues[1] ?? '',
      /^gateway\.listeners\[0\]\.tls\.certificates\[2\]\.key: ".*wild\.key" does not match the certificate/,
    );
    assert.match(
      issues[2] ?? '',
      /^gateway\.listeners\[0\]\.tls\.certificates\[3\]\.cert: ".*expired\.crt" expired on \d{4}-/,
    );
  });

  test('HSTS on a plain listener, a redirect on a TLS listener, an unreadable CA and a port used twice are refused', async () => {
    const issues = await issuesOf({
      listeners: [
        { port: 8443, hsts: { maxAge: 60 } },
        {
          port: 8443,
          tls: { certificates: [a], clientCertificate: { ca: join(pki.dir, 'nope.pem') } },
          redirectToHttps: {},
        },
      ],
      upstreamTls: { ca: a.key },
      routes: [],
    });
    assert.deepEqual(
      issues.map((i) => i.replace(/".*?"/, '"…"')),
      [
        'gateway.listeners[0].hsts: browsers ignore Strict-Transport-Security over plain HTTP (RFC 6797 §8.1); set it on a TLS listener',
        'gateway.listeners[1].tls.clientCertificate.ca: cannot read "…": ENOENT: no such file or directory, open \'' +
          join(pki.dir, 'nope.pem') +
          "'",
        'gateway.listeners[1].redirectToHttps: a TLS listener serves HTTPS itself; put `redirectToHttps` on a plain listener',
        'gateway.listeners[1].port: 127.0.0.1:8443 is already used by listeners[0]',
        'gateway.upstreamTls.ca: "…" holds no PEM certificate: error:0480006C:PEM routines::no start line',
      ],
    );
  });

  test('without `listeners`, host and port give the one plain listener as before', async (t) => {
    const gateway = await start(t, { host: '127.0.0.1', port: 0 });
    assert.equal(gateway.listeners.length, 1);
    assert.match(gateway.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(gateway.listeners[0]?.tls, false);
  });

  test('listeners cannot change on reload', async (t) => {
    const gateway = await start(t, { listeners: [tlsListener([a])] });
    assert.throws(
      () => gateway.reload({ listeners: [tlsListener([wild])], routes: [] }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') && /gateway\.listeners: cannot change on reload/.test(err.message),
    );
  });
});

describe('TLS listeners: serving', () => {
  test('HTTPS through undici reaches the upstream with X-Forwarded-Proto https', async (t) => {
    const upstream = await startUpstream(t, 'u');
    const gateway = await start(t, {
      listeners: [tlsListener([a])],
      routes: [{ path: '/api', upstreams: [`http://127.0.0.1:${upstream.port}`] }],
    });
    assert.match(gateway.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const agent = new Agent({ connect: { ca: readFileSync(pki.ca) } });
    t.after(() => agent.close());
    const res = await request(`${gateway.url}/api/x`, { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { url: string }).url, '/x');
    assert.equal(upstream.seen[0]?.headers['x-forwarded-proto'], 'https');
  });

  test('HTTP/2: ALPN h2, routed by :authority, Host sent upstream, no pseudo-headers forwarded', async (t) => {
    const upstream = await startUpstream(t, 'u');
    const gateway = await start(t, {
      listeners: [tlsListener([a])],
      routes: [
        { name: 'a', path: '/api', hosts: ['a.test'], upstreams: [`http://127.0.0.1:${upstream.port}`] },
        { name: 'b', path: '/api', hosts: ['b.test'], upstreams: [`http://127.0.0.1:${upstream.port}/b`] },
      ],
    });
    const session = h2connect(gateway.url, { ca: readFileSync(pki.ca), servername: 'a.test' });
    t.after(() => session.close());
    await once(session, 'connect');
    assert.equal(session.alpnProtocol, 'h2');
    const res = await h2request(session, { ':path': '/api/hello?q=1', ':authority': 'b.test', 'x-custom': 'yes' });
    assert.equal(res.headers[':status'], 200);
    assert.equal(JSON.parse(res.body.toString()).url, '/b/hello?q=1');
    const seen = upstream.seen[0]?.headers ?? {};
    assert.equal(seen['x-forwarded-host'], 'b.test');
    assert.equal(seen['x-custom'], 'yes');
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.ok(!Object.keys(seen).some((name) => name.startsWith(':')), Object.keys(seen).join(','));
    // HTTP/1.1 on the same port still works.
    const agent = new Agent({ allowH2: false, connect: { ca: readFileSync(pki.ca), servername: 'a.test' } });
    t.after(() => agent.close());
    const h1 = await request(`${gateway.url}/api/one`, { dispatcher: agent, headers: { host: 'a.test' } });
    assert.equal(h1.statusCode, 200);
    assert.equal(((await h1.body.json()) as { url: string }).url, '/one');
  });

  test('curl --http2 speaks HTTP/2 to the gateway', async (t) => {
    const { stdout: features } = await run('curl', ['-V']);
    assert.match(features, /HTTP2/, 'this curl was built without HTTP/2');
    const upstream = await startUpstream(t, 'u');
    const gateway = await start(t, {
      listeners: [tlsListener([a])],
      routes: [{ path: '/api', upstreams: [`http://127.0.0.1:${upstream.port}`] }],
    });
    const port = gateway.port;
    const { stdout } = await run('curl', [
      '-sS',
      '--http2',
      '--max-time',
      '5',
      '--cacert',
      pki.ca,
      '--resolve',
      `a.test:${port}:127.0.0.1`,
      '-o',
      '/dev/null',
      '-w',
      '%{http_version} %{http_code}',
      `https://a.test:${port}/api/curl`,
    ]);
    assert.equal(stdout, '2 200');
    assert.equal(upstream.seen[0]?.url, '/curl');
  });

  test('a 1 MiB body streams both ways through HTTP/2', async (t) => {
    const upstream = await startRawUpstream(t, (req, res) => {
      const hash = createHash('sha256');
      let length = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        length += c.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'x-length': String(length), 'x-sha': hash.digest('hex') });
        // Chunked, in 64 KiB pieces.
        const piece = Buffer.alloc(65_536, 7);
        for (let i = 0; i < 16; i += 1) res.write(piece);
        res.end();
      });
    });
    const gateway = await start(t, {
      listeners: [tlsListener([a])],
      routes: [{ path: '/up', upstreams: [`http://127.0.0.1:${upstream.port}`] }],
    });
    const session = h2connect(gateway.url, { ca: readFileSync(pki.ca), servername: 'a.test' });
    t.after(() => session.close());
    const body = Buffer.alloc(1_048_576);
    for (let i = 0; i < body.length; i += 1) body[i] = i % 251;
    const res = await h2request(session, { ':method': 'POST', ':path': '/up' }, body);
    assert.equal(res.headers[':status'], 200);
    assert.equal(res.headers['x-length'], String(body.length));
    assert.equal(res.headers['x-sha'], createHash('sha256').update(body).digest('hex'));
    assert.equal(res.body.length, 1_048_576);
    assert.ok(res.body.every((b) => b === 7));
  });

  test('close() lets an HTTP/2 request in flight finish, then the session ends', async (t) => {
    let arrived: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const upstream = await startRawUpstream(t, (_req, res) => {
      arrived();
      setTimeout(() => res.end('late'), 150);
    });
    const gateway = await createGateway({
      options: {
        listeners: [tlsListener([a])],
        routes: [{ path: '/', upstreams: [`http://127.0.0.1:${upstream.port}`] }],
      },
    });
    const session = h2connect(gateway.url, { ca: readFileSync(pki.ca), servername: 'a.test' });
    t.after(() => session.destroy());
    const pending = h2request(session, { ':path': '/slow' });
    await inFlight;
    const closing = gateway.close();
    const res = await pending;
    assert.equal(res.headers[':status'], 200);
    assert.equal(res.body.toString(), 'late');
    await closing;
    await once(session, 'close');
  });

  test('an HTTP/2 request carrying Connection is reset with PROTOCOL_ERROR (RFC 9113 §8.2.2)', async (t) => {
    const upstream = await startUpstream(t, 'u');
    const gateway = await start(t, {
      listeners: [tlsListener([a])],
      routes: [{ path: '/', upstreams: [`http://127.0.0.1:${upstream.port}`] }],
    });
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: gateway.port,
      ca: readFileSync(pki.ca),
      servername: 'a.test',
      ALPNProtocols: ['h2'],
    });
    t.after(() => socket.destroy());
    await once(socket, 'secureConnect');
    assert.equal(socket.alpnProtocol, 'h2');
    // HPACK: literal header fields without indexing, new names, no Huffman coding.
    const field = (name: string, value: string) =>
      Buffer.concat([
        Buffer.from([0x00, name.length]),
        Buffer.from(name),
        Buffer.from([value.length]),
        Buffer.from(value),
      ]);
    const block = Buffer.concat([
      field(':method', 'GET'),
      field(':scheme', 'https'),
      field(':path', '/'),
      field(':authority', 'a.test'),
      field('connection', 'keep-alive'),
    ]);
    const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
      const head = Buffer.alloc(9);
      head.writeUIntBE(payload.length, 0, 3);
      head[3] = type;
      head[4] = flags;
      head.writeUInt32BE(stream, 5);
      return Buffer.concat([head, payload]);
    };
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    socket.write(frame(0x4, 0, 0, Buffer.alloc(0)));
    socket.write(frame(0x1, 0x5, 1, block)); // HEADERS, END_STREAM | END_HEADERS
    let received = Buffer.alloc(0);
    const outcome = await new Promise<{ type: number; stream: number; error: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no RST_STREAM or GOAWAY within 3 s')), 3000);
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        while (received.length >= 9) {
          const length = received.readUIntBE(0, 3);
          if (received.length < 9 + length) break;
          const type = received[3] ?? 0;
          const stream = received.readUInt32BE(5) & 0x7fffffff;
          const payload = received.subarray(9, 9 + length);
          received = received.subarray(9 + length);
          let settled: { type: number; stream: number; error: number } | undefined;
          if (type === 0x3) settled = { type, stream, error: payload.readUInt32BE(0) };
          if (type === 0x7) settled = { type, stream, error: payload.readUInt32BE(4) };
          if (type === 0x1) {
            clearTimeout(timer);
            reject(new Error('the request was answered'));
            return;
          }
          if (settled !== undefined) {
            clearTimeout(timer);
            resolve(settled);
            return;
          }
        }
      });
    });
    assert.equal(outcome.error, 0x1, 'PROTOCOL_ERROR');
    assert.equal(upstream.seen.length, 0);
  });

  test('SNI picks the certificate: exact name, wildcard, default for others and for none', async (t) => {
    const gateway = await start(t, {
      listeners: [tlsListener([a, wild, { ...a, serverNames: ['exact.example.com'] } as Pair])],
    });
    const cn = async (name: string | undefined) => (await handshake(gateway.port, name)).peer.subject.CN;
    assert.equal(await cn('a.test'), 'a');
    assert.equal(await cn('shop.example.com'), 'wild');
    assert.equal(await cn('SHOP.EXAMPLE.COM'), 'wild');
    // One label only: a.b.example.com is not covered by *.example.com.
    assert.equal(await cn('a.b.example.com'), 'a');
    assert.equal(await cn('exact.example.com'), 'a', 'serverNames override the names of the certificate');
    assert.equal(await cn('unknown.test'), 'a');
    assert.equal(await cn(undefined), 'a');
    assert.equal((await handshake(gateway.port, 'shop.example.com')).peer.subjectaltname, 'DNS:*.example.com');
  });

  test('TLS 1.3 only refuses a TLS 1.2 client; the default cipher list refuses CBC suites', async (t) => {
    const strict = await start(t, { listeners: [tlsListener([a], { minVersion: 'TLSv1.3' })] });
    const tls12 = tlsConnect({
      host: '127.0.0.1',
      port: strict.port,
      ca: readFileSync(pki.ca),
      servername: 'a.test',
      maxVersion: 'TLSv1.2',
    });
    const [err] = (await once(tls12, 'error')) as [Error];
    assert.match(
      String((err as { code?: string }).code),
      /ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION|ERR_SSL_UNSUPPORTED_PROTOCOL/,
    );
    const normal = await start(t, { listeners: [tlsListener([a])] });
    const cbc = tlsConnect({
      host: '127.0.0.1',
      port: normal.port,
      ca: readFileSync(pki.ca),
      servername: 'a.test',
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES128-SHA',
    });
    const [cbcErr] = (await once(cbc, 'error')) as [Error];
    assert.match(String((cbcErr as { code?: string }).code), /HANDSHAKE_FAILURE/);
  });

  test('a required client certificate: refused without one, served with one signed by the CA', async (t) => {
    const upstream = await startUpstream(t, 'u');
    const gateway = await start(t, {
      listeners: [tlsListener([a], { clientCertificate: { ca: pki.ca, required: true } })],
      routes: [{ path: '/', upstreams: [`http://127.0.0.1:${upstream.port}`] }],
    });
    const without = new Agent({ connect: { ca: readFileSync(pki.ca), servername: 'a.test' } });
    t.after(() => without.close());
    await assert.rejects(request(`${gateway.url}/x`, { dispatcher: without }), (err: Error & { code?: string }) =>
      /CERTIFICATE_REQUIRED|ECONNRESET|UND_ERR_SOCKET|HANDSHAKE/.test(`${err.code} ${err.message}`),
    );
    const wrongCa = other.leaf('stranger', [], { client: true });
    const stranger = new Agent({
      connect: {
        ca: readFileSync(pki.ca),
        servername: 'a.test',
        cert: readFileSync(wrongCa.cert),
        key: readFileSync(wrongCa.key),
      },
    });
    t.after(() => stranger.close());
    await assert.rejects(request(`${gateway.url}/x`, { dispatcher: stranger }));
    const withCert = new Agent({
      connect: {
        ca: readFileSync(pki.ca),
        servername: 'a.test',
        cert: readFileSync(client.cert),
        key: readFileSync(client.key),
      },
    });
    t.after(() => withCert.close());
    const res = await request(`${gateway.url}/x`, { dispatcher: withCert });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.equal(upstream.seen.length, 1);
  });

  test('a plain listener redirects with 308 to the TLS one; TLS responses carry HSTS', async (t) => {
    const upstream = await startUpstream(t, 'u');
    const gateway = await start(t, {
      listeners: [
        { ...tlsListener([a]), hsts: { maxAge: 31_536_000, includeSubDomains: true, preload: true } },
        { host: '127.0.0.1', port: 0, redirectToHttps: {} },
      ],
      routes: [{ path: '/', upstreams: [`http://127.0.0.1:${upstream.port}`] }],
    });
    const [secure, plain] = gateway.listeners;
    assert.ok(secure?.tls && plain && !plain.tls);
    const redirect = await request(`${plain.url}/shop/cart?x=1`, {
      method: 'POST',
      body: 'abc',
      headers: { host: 'a.test:80' },
    });
    assert.equal(redirect.statusCode, 308);
    assert.equal(redirect.headers.location, `https://a.test:${secure.port}/shop/cart?x=1`);
    await redirect.body.dump();
    assert.equal(upstream.seen.length, 0);
    const agent = new Agent({ connect: { ca: readFileSync(pki.ca), servername: 'a.test' } });
    t.after(() => agent.close());
    const res = await request(`${secure.url}/x`, { dispatcher: agent });
    assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains; preload');
    await res.body.dump();
    const missing = await request(`${secure.url}/nowhere`, { dispatcher: agent, method: 'DELETE' });
    assert.equal(missing.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains; preload');
    await missing.body.dump();
  });
});

describe('TLS listeners: certificate reload', () => {
  test('a broken or expired certificate is refused with a log line and the old one stays; a valid one is taken', async (t) => {
    const live = { cert: join(pki.dir, 'live.crt'), key: join(pki.dir, 'live.key') };
    copyFileSync(a.cert, live.cert);
    copyFileSync(a.key, live.key);
    const { logger, lines } = recordingLogger();
    const gateway = await start(t, { listeners: [tlsListener([live], { reloadInterval: 0 })] }, { logger });
    const served = async () => (await handshake(gateway.port, 'a.test')).peer.fingerprint256;
    const original = pki.fingerprint(a.cert);
    assert.equal(await served(), original);

    writeFileSync(live.cert, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    gateway.reloadCertificates();
    assert.equal(await served(), original);
    const broken = lines.find((l) => l.level === 'error');
    assert.equal(broken?.obj.code, 'SY_GATEWAY_TLS_CERTIFICATE_REFUSED');
    assert.equal(broken?.obj.path, live.cert);
    assert.equal(broken?.obj.field, 'gateway.listeners[0].tls.certificates[0].cert');
    assert.match(String(broken?.obj.reason), /is not a PEM certificate/);

    copyFileSync(expired.cert, live.cert);
    copyFileSync(expired.key, live.key);
    gateway.reloadCertificates();
    assert.equal(await served(), original);
    assert.match(String(lines.filter((l) => l.level === 'error').at(-1)?.obj.reason), /expired on/);

    // A new certificate whose key is not there yet (the key is copied second): refused, then taken.
    const renewed = pki.leaf('renewed', ['DNS:a.test']);
    copyFileSync(renewed.cert, live.cert);
    copyFileSync(a.key, live.key);
    gateway.reloadCertificates();
    assert.equal(await served(), original);
    assert.match(String(lines.filter((l) => l.level === 'error').at(-1)?.obj.reason), /does not match/);
    copyFileSync(renewed.key, live.key);
    gateway.reloadCertificates();
    assert.equal(await served(), pki.fingerprint(renewed.cert));
    assert.ok(lines.some((l) => l.level === 'info' && l.msg === 'TLS certificate reloaded'));
  });

  test('a changed file is picked up without a call, through the file watch', async (t) => {
    const live = { cert: join(pki.dir, 'watched.crt'), key: join(pki.dir, 'watched.key') };
    copyFileSync(a.cert, live.cert);
    copyFileSync(a.key, live.key);
    const gateway = await start(t, { listeners: [tlsListener([live])] });
    const next = pki.leaf('next', ['DNS:a.test']);
    // Written in place of the files (the key first so that the pair matches when the cert lands).
    copyFileSync(next.key, live.key);
    copyFileSync(next.cert, live.cert);
    const want = pki.fingerprint(next.cert);
    const deadline = Date.now() + 5000;
    let seen = '';
    while (Date.now() < deadline) {
      seen = (await handshake(gateway.port, 'a.test')).peer.fingerprint256;
      if (seen === want) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(seen, want);
  });

  test('gateway.reload reads the certificate files again', async (t) => {
    const live = { cert: join(pki.dir, 'onreload.crt'), key: join(pki.dir, 'onreload.key') };
    copyFileSync(a.cert, live.cert);
    copyFileSync(a.key, live.key);
    const options: GatewayOptions = { listeners: [tlsListener([live], { reloadInterval: 0 })], routes: [] };
    const gateway = await start(t, options);
    const next = pki.leaf('onreload-next', ['DNS:a.test']);
    copyFileSync(next.cert, live.cert);
    copyFileSync(next.key, live.key);
    gateway.reload(options);
    assert.equal((await handshake(gateway.port, 'a.test')).peer.fingerprint256, pki.fingerprint(next.cert));
  });
});

describe('upstream TLS', () => {
  async function httpsUpstream(t: TestContext, pair: Pair = upstreamPair): Promise<number> {
    const server = createHttpsServer({ cert: readFileSync(pair.cert), key: readFileSync(pair.key) }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, host: req.headers.host }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    return (server.address() as AddressInfo).port;
  }

  test('an https static upstream verified against the configured CA', async (t) => {
    const port = await httpsUpstream(t);
    const gateway = await start(t, {
      host: '127.0.0.1',
      port: 0,
      upstreamTls: { ca: pki.ca },
      routes: [{ path: '/secure', upstreams: [`https://127.0.0.1:${port}/v1`] }],
    });
    const res = await request(`${gateway.url}/secure/x`);
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { url: string }).url, '/v1/x');
  });

  test('an upstream certificate from an untrusted CA is a 502 with SY_GATEWAY_UPSTREAM_FAILED', async (t) => {
    const port = await httpsUpstream(t);
    const gateway = await start(t, {
      host: '127.0.0.1',
      port: 0,
      upstreamTls: { ca: other.ca },
      routes: [{ path: '/secure', upstreams: [`https://127.0.0.1:${port}`] }],
    });
    const res = await request(`${gateway.url}/secure/x`);
    assert.equal(res.statusCode, 502);
    const body = (await res.body.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'SY_GATEWAY_UPSTREAM_FAILED');
    assert.match(body.error.message, /https:\/\/127\.0\.0\.1:\d+.*certificate/i);
  });

  test('an instance with an untrusted certificate is skipped for another one: nothing was sent to it', async (t) => {
    const good = await httpsUpstream(t);
    const bad = await httpsUpstream(t, other.leaf('bad-upstream', ['IP:127.0.0.1']));
    const { logger, lines } = recordingLogger();
    const gateway = await start(
      t,
      {
        host: '127.0.0.1',
        port: 0,
        upstreamTls: { ca: pki.ca },
        routes: [{ path: '/secure', upstreams: [`https://127.0.0.1:${bad}`, `https://127.0.0.1:${good}`] }],
      },
      { logger },
    );
    for (let i = 0; i < 4; i += 1) {
      const res = await request(`${gateway.url}/secure/x`);
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    }
    const retried = lines.filter((l) => l.msg === 'upstream not reached; retrying on another instance');
    assert.ok(retried.length >= 1, JSON.stringify(lines.map((l) => l.msg)));
    assert.equal(retried[0]?.obj.instance, `https://127.0.0.1:${bad}`);
  });

  test('a discovered instance with meta.scheme https is reached over TLS', async (t) => {
    const port = await httpsUpstream(t);
    const instance = { ...instanceAt('billing', port), meta: { scheme: 'https' } };
    const gateway = await start(
      t,
      { host: '127.0.0.1', port: 0, upstreamTls: { ca: pki.ca }, routes: [{ path: '/billing', service: 'billing' }] },
      { discovery: staticSource({ billing: [instance] }) },
    );
    const res = await request(`${gateway.url}/billing/inv`);
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { url: string }).url, '/inv');
  });
});
