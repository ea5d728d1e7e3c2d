import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createServer as createH2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { handleClientError } from '../client-error.ts';
import { gatewayError } from '../errors.ts';
import { listen } from '../listen.ts';
import type { GatewayLogger } from '../ports.ts';
import { connectionsCheckingIntervalFor, type ResolvedServerLimits } from '../server-limits.ts';
import { isWebSocketUpgrade } from '../upgrade.ts';
import { type CertificateStore, createCertificateStore } from './certificates.ts';
import { adaptHttp2 } from './h2-compat.ts';
import type { ResolvedListener } from './options.ts';
import { type FileWatch, watchFiles } from './watch.ts';

/** The listeners' view of the gateway's request handling. */
export interface ListenerHandlers {
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly handleContinue: (req: IncomingMessage, res: ServerResponse) => void;
}

/** A listener bound to its port. */
export interface RunningListener {
  /** `http://host:port` or `https://host:port`, with the port actually bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** Whether HTTP/2 is offered (TLS listeners with `http2`). */
  readonly http2: boolean;
  /** Reads the certificate files again; refused ones are logged and the old ones stay. No-op without TLS. */
  reloadCertificates(): void;
  /** Stops accepting connections and closes idle ones (HTTP/2 sessions get GOAWAY). */
  stopAccepting(): void;
  /** Cuts every connection left and resolves once the server has closed. */
  destroy(): Promise<void>;
}

/** What {@link startListener} needs besides the listener's options. */
export interface ListenerContext {
  readonly handlers: ListenerHandlers;
  readonly limits: ResolvedServerLimits;
  readonly logger: GatewayLogger;
  /** The bound port HTTPS is served on, for redirects without their own `port`. */
  readonly httpsPort: () => number | undefined;
  /** The config path of the listener, for log lines: `gateway.listeners[1]`. */
  readonly path: string;
}

type AnyServer = Server | HttpsServer | TlsServer;

/**
 * Creates the server of one listener and resolves once it listens:
 *
 * - plain: node:http; with `redirectToHttps`, every request gets `308` to its https URL;
 * - TLS with `http2` (the default): a node:tls server offering `h2` and `http/1.1` through
 *   ALPN on the same port; `h2` connections go to a node:http2 server, whose requests are
 *   adapted to the handler (see `adaptHttp2`), the others (no ALPN included) to node:http;
 * - TLS without `http2`: node:https.
 *
 * TLS listeners pick their certificate by SNI and watch the files: a changed certificate is
 * served to new connections without a restart, one that does not load is refused (logged with
 * `SY_GATEWAY_TLS_CERTIFICATE_REFUSED`) and the previous one stays.
 *
 * @throws the system error when the port cannot be bound, with nothing left listening
 * @example
 * ```ts
 * const listener = await startListener(options.listeners[0], { handlers: handler, limits: options.server, logger, httpsPort: () => 8443, path: 'gateway.listeners[0]' });
 * ```
 */
export async function startListener(listener: ResolvedListener, context: ListenerContext): Promise<RunningListener> {
  const { handlers, limits, logger } = context;
  const tls = listener.tls;
  const httpOptions = {
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    connectionsCheckingInterval: connectionsCheckingIntervalFor(limits),
    requireHostHeader: true,
    // As for the plain listener: only WebSocket upgrades reach the 'upgrade' listener.
    shouldUpgradeCallback: isWebSocketUpgrade,
  };
  const hsts = listener.hsts === undefined ? undefined : hstsValue(listener.hsts);
  const handle =
    hsts === undefined
      ? handlers.handle
      : (req: IncomingMessage, res: ServerResponse) => {
          res.setHeader('strict-transport-security', hsts);
          handlers.handle(req, res);
        };
  const handleContinue =
    hsts === undefined
      ? handlers.handleContinue
      : (req: IncomingMessage, res: ServerResponse) => {
          res.setHeader('strict-transport-security', hsts);
          handlers.handleContinue(req, res);
        };

  let server: AnyServer;
  // The node:http server behind a TLS listener that dispatches by ALPN.
  let inner: Server | undefined;
  let store: CertificateStore | undefined;
  let watch: FileWatch | undefined;
  const sessions = new Set<Http2Session>();
  const sockets = new Set<Socket>();
  if (tls === undefined) {
    const redirect = listener.redirectToHttps;
    const plain = createHttpServer(
      httpOptions,
      redirect === undefined ? handle : redirectToHttps(() => redirect.port ?? context.httpsPort()),
    );
    if (redirect === undefined) {
      plain.on('checkContinue', handleContinue);
      plain.on('upgrade', handlers.handleUpgrade);
    }
    plain.maxRequestsPerSocket = limits.maxRequestsPerSocket;
    server = plain;
  } else {
    let secure: HttpsServer | TlsServer | undefined;
    store = createCertificateStore(
      tls.certificates,
      {
        minVersion: tls.minVersion,
        ciphers: tls.ciphers,
        ...(tls.clientCertificate === undefined ? {} : { clientCa: readCa(tls.clientCertificate.ca) }),
      },
      (options) => secure?.setSecureContext(options),
    );
    const tlsOptions = {
      ...store.defaultOptions(),
      SNICallback: store.sniCallback,
      requestCert: tls.clientCertificate !== undefined,
      rejectUnauthorized: tls.clientCertificate?.required ?? false,
    };
    if (tls.http2) {
      // ALPN picks the protocol per connection; each goes to a server of its own: node:http for
      // HTTP/1.1 (the same code and limits as the plain listener, and about twice the
      // throughput of node:http2's `allowHTTP1` fallback) and node:http2 for h2.
      const h1 = createHttpServer(httpOptions, handle);
      h1.on('checkContinue', handleContinue);
      h1.on('upgrade', handlers.handleUpgrade);
      h1.on('clientError', handleClientError);
      h1.maxRequestsPerSocket = limits.maxRequestsPerSocket;
      // node:http starts checking headersTimeout and requestTimeout on 'listening'; this server
      // never listens itself, the TLS server hands it connections.
      h1.emit('listening');
      const h2 = createH2Server(
        { settings: { maxHeaderListSize: limits.maxHeaderSize } },
        (req: Http2ServerRequest, res: Http2ServerResponse) => {
          const adapted = adaptHttp2(req, res);
          handle(adapted.req, adapted.res);
        },
      );
      h2.on('checkContinue', (req: Http2ServerRequest, res: Http2ServerResponse) => {
        const adapted = adaptHttp2(req, res);
        handleContinue(adapted.req, adapted.res);
      });
      h2.on('session', (session: Http2Session) => {
        sessions.add(session);
        session.once('close', () => sessions.delete(session));
      });
      const dispatch = createTlsServer({ ...tlsOptions, ALPNProtocols: ['h2', 'http/1.1'] }, (socket: TLSSocket) => {
        if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
        else h1.emit('connection', socket);
      });
      inner = h1;
      secure = dispatch;
    } else {
      const https = createHttpsServer({ ...tlsOptions, ...httpOptions }, handle);
      https.on('checkContinue', handleContinue);
      https.on('upgrade', handlers.handleUpgrade);
      https.maxRequestsPerSocket = limits.maxRequestsPerSocket;
      secure = https;
    }
    secure.on('tlsClientError', () => {
      // Failed handshakes (no client certificate, unknown CA, a scanner) are the client's problem.
    });
    server = secure;
    const certificateStore = store;
    const reload = () => reportReload(certificateStore, context);
    watch = watchFiles(
      tls.certificates.flatMap((c) => [c.cert, c.key]),
      { intervalMs: tls.reloadInterval },
      reload,
    );
  }
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', handleClientError);
  try {
    await listen(server, listener.host, listener.port);
  } catch (err) {
    watch?.close();
    throw err;
  }
  server.on('error', (err: Error) => logger.error({ err, listener: context.path }, 'gateway server error'));
  const port = (server.address() as AddressInfo).port;
  const host = listener.host;
  const scheme = tls === undefined ? 'http' : 'https';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closed: Promise<void> | undefined;
  const stopAccepting = () => {
    watch?.close();
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    if ('closeIdleConnections' in server) server.closeIdleConnections();
    // Closing the never-listening server stops its timeout checks; its idle sockets go now.
    inner?.close(() => {});
    inner?.closeIdleConnections();
    for (const session of sessions) session.close();
  };
  return {
    url,
    host,
    port,
    tls: tls !== undefined,
    http2: tls?.http2 === true,
    reloadCertificates() {
      if (store !== undefined) reportReload(store, context);
    },
    stopAccepting,
    async destroy() {
      stopAccepting();
      if ('closeAllConnections' in server) server.closeAllConnections();
      inner?.closeAllConnections();
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Reloads and logs: one error line per refused file, one info line per replaced certificate. */
function reportReload(store: CertificateStore, context: ListenerContext): void {
  const result = store.reload();
  for (const refused of result.refused) {
    const field = `${context.path}.tls.certificates[${refused.index}].${refused.field}`;
    const message = `TLS certificate refused, the previous one stays in service: ${field}: ${refused.reason}`;
    context.logger.error(
      {
        err: gatewayError('SY_GATEWAY_TLS_CERTIFICATE_REFUSED', message, {
          details: { path: refused.path, field, reason: refused.reason },
        }),
        code: 'SY_GATEWAY_TLS_CERTIFICATE_REFUSED',
        path: refused.path,
        field,
        reason: refused.reason,
      },
      message,
    );
  }
  for (const index of result.replaced) {
    context.logger.info({ field: `${context.path}.tls.certificates[${index}]` }, 'TLS certificate reloaded');
  }
}

/**
 * The `Strict-Transport-Security` value (RFC 6797 §6.1).
 *
 * @example
 * ```ts
 * hstsValue({ maxAge: 31536000, includeSubDomains: true, preload: false }); // 'max-age=31536000; includeSubDomains'
 * ```
 */
export function hstsValue(hsts: { maxAge: number; includeSubDomains: boolean; preload: boolean }): string {
  return `max-age=${hsts.maxAge}${hsts.includeSubDomains ? '; includeSubDomains' : ''}${hsts.preload ? '; preload' : ''}`;
}

/**
 * A request listener answering every request with `308 Permanent Redirect` to the same host
 * and target over https (308 keeps the method and body, unlike 301). Port 443 is left out of
 * the URL. A request without a usable `Host` gets 400.
 *
 * @example
 * ```ts
 * createServer(redirectToHttps(() => 8443)).listen(8080);
 * ```
 */
export function redirectToHttps(port: () => number | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const host = hostWithoutPort(req.headers.host);
    const target = req.url ?? '/';
    if (host === undefined || !target.startsWith('/')) {
      res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' });
      res.end('a Host header and an origin-form request target are required\n');
      return;
    }
    const to = port() ?? 443;
    const location = `https://${host}${to === 443 ? '' : `:${to}`}${target}`;
    res.writeHead(308, { location, 'content-length': 0 });
    res.end();
    // The body, if any, is not wanted: let it go with the connection instead of reading it.
    if (!req.complete) res.once('finish', () => req.socket.destroy());
  };
}

function hostWithoutPort(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d+)?$/i.exec(raw.trim());
  return match?.[1];
}

function readCa(path: string): string {
  // Checked by the schema; read once at start.
  return readFileSync(path, 'utf8');
}
