import { request as httpRequest, type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { describeError } from '@switchyard/client';
import { HealthStatus, type ServiceInstance } from '@switchyard/core';
import type { Balancer } from '@switchyard/discovery';
import { gatewayError } from './errors.ts';
import { downstreamResponseHeaders, type OutgoingHeaders, upstreamRequestHeaders } from './headers.ts';
import type { GatewayContext, RouteHandler } from './middleware.ts';
import type { ResolvedRoute } from './options.ts';
import type { InstanceSource } from './ports.ts';
import type { RouteTraffic } from './traffic/control.ts';

/**
 * True when `req` asks to switch to WebSocket (`Upgrade: websocket`, RFC 6455 §4.1), the only
 * upgrade the gateway proxies. It is the server's `shouldUpgradeCallback`: other upgrades are
 * served as plain HTTP requests, the `Upgrade` header ignored (RFC 9110 §7.8).
 *
 * @example
 * ```ts
 * isWebSocketUpgrade(req); // true for `Connection: Upgrade` + `Upgrade: websocket`
 * ```
 */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (typeof upgrade !== 'string') return false;
  return upgrade.split(',').some((token) => token.trim().toLowerCase() === 'websocket');
}

/**
 * A `ServerResponse` written to the socket of an upgrade request, which node:http hands over
 * without one. The route's middleware and the gateway's error rendering use it unchanged, so a
 * refused upgrade gets the usual JSON error; the response carries `Connection: close` and the
 * socket is closed once it is sent. Until the socket closes the response counts as in flight.
 *
 * @example
 * ```ts
 * server.on('upgrade', (req, socket, head) => {
 *   socket.unshift(head);
 *   handler.handle(req, responseForUpgrade(req, socket));
 * });
 * ```
 */
export function responseForUpgrade(req: IncomingMessage, socket: Duplex): ServerResponse {
  // node:http stops listening for socket errors when it hands the socket over.
  socket.on('error', () => socket.destroy());
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    // The response went out instead of a 101: nothing else may follow on this connection.
    if (!socket.destroyed) socket.end(() => socket.destroy());
  });
  return res;
}

/** What {@link createUpgradeProxy} needs. */
export interface UpgradeProxyDependencies {
  /** Where instances of the route's service come from (critical ones are skipped). */
  readonly discovery: InstanceSource;
  /** The route's balancer, the one its HTTP requests use. */
  readonly balancerFor: (route: ResolvedRoute) => Balancer;
  /** The subset choice of routes with `traffic`: an upgrade goes to the chosen subset only (never mirrored). */
  readonly traffic?: RouteTraffic | undefined;
}

/**
 * The terminal handler for WebSocket upgrades: picks an instance as HTTP requests do (the
 * route's balancer over the healthy instances), forwards the upgrade request with the gateway's
 * header rules (hop-by-hop fields removed but `Connection: Upgrade` and `Upgrade` kept,
 * `X-Forwarded-*`, `X-Request-Id`, `Via`), and on a `101` relays it and splices the two sockets.
 *
 * - An instance refusing the connection is tried once more on another instance.
 * - An answer other than `101` is relayed as it is, and the connection closed.
 * - No instance → `SY_GATEWAY_NO_HEALTHY_INSTANCE` (503); unreachable →
 *   `SY_GATEWAY_UPSTREAM_FAILED` (502); no answer within the route timeout →
 *   `SY_GATEWAY_UPSTREAM_TIMEOUT` (504); not a WebSocket upgrade, or an aggregate route →
 *   `SY_GATEWAY_UPGRADE_NOT_SUPPORTED` (400).
 * - Once spliced, either side closing closes the other.
 *
 * @example
 * ```ts
 * const terminal = createUpgradeProxy({ discovery, balancerFor: () => roundRobin() });
 * const chain = composeMiddleware([auth], terminal); // auth can refuse the upgrade
 * ```
 */
export function createUpgradeProxy(deps: UpgradeProxyDependencies): RouteHandler {
  return async (ctx) => {
    const { route } = ctx;
    if (route.service === undefined || !isWebSocketUpgrade(ctx.req)) {
      throw gatewayError(
        'SY_GATEWAY_UPGRADE_NOT_SUPPORTED',
        route.service === undefined
          ? `route ${route.name} does not proxy to a service and takes no WebSocket upgrade`
          : `the gateway proxies only WebSocket upgrades, not ${JSON.stringify(ctx.req.headers.upgrade ?? '')}`,
        { details: { route: route.name } },
      );
    }
    const service = route.service;
    const headers = upstreamRequestHeaders(ctx.req.headers, {
      requestId: ctx.requestId,
      clientAddress: ctx.clientAddress,
      trusted: ctx.trustedPeer,
      protocol: (ctx.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    });
    headers.connection = 'Upgrade';
    headers.upgrade = String(ctx.req.headers.upgrade);
    const path = `${route.stripPrefix ? ctx.rest : ctx.path}${ctx.query}`;
    const balancer = deps.balancerFor(route);
    const choice = deps.traffic?.choose(ctx, headers, path, false, false);
    let tried: ServiceInstance | undefined;
    for (let attempt = 1; ; attempt++) {
      let instance: ServiceInstance;
      try {
        instance = await pickInstance(deps.discovery, balancer, route, service, ctx.signal, tried, choice?.eligible);
      } catch (err) {
        throw choice === undefined ? err : choice.explain(err);
      }
      try {
        await forward(ctx, instance, path, headers);
        return;
      } catch (err) {
        const refused = (err as { cause?: { code?: unknown } }).cause?.code === 'ECONNREFUSED';
        if (attempt >= 2 || !refused || ctx.signal.aborted) throw err;
        tried = instance;
      }
    }
  };
}

async function pickInstance(
  discovery: InstanceSource,
  balancer: Balancer,
  route: ResolvedRoute,
  service: string,
  signal: AbortSignal,
  tried: ServiceInstance | undefined,
  eligible: ((instances: readonly ServiceInstance[]) => readonly ServiceInstance[]) | undefined,
): Promise<ServiceInstance> {
  let listed: readonly ServiceInstance[];
  try {
    listed = await discovery.instances(service, signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw gatewayError(
      'SY_GATEWAY_DISCOVERY_FAILED',
      `looking up instances of service ${JSON.stringify(service)} for route ${route.name} failed: ${describeError(err)}`,
      { cause: err, details: { service, route: route.name } },
    );
  }
  if (eligible !== undefined) listed = eligible(listed);
  let usable = listed.filter((instance) => instance.status !== HealthStatus.Critical);
  if (tried !== undefined && usable.length > 1) {
    const fresh = usable.filter((i) => i.id !== tried.id);
    if (fresh.length > 0) usable = fresh;
  }
  const instance = balancer.pick(usable);
  if (instance === undefined) {
    throw gatewayError(
      'SY_GATEWAY_NO_HEALTHY_INSTANCE',
      `no healthy instance of service ${JSON.stringify(service)} for route ${route.name}`,
      { details: { service, route: route.name } },
    );
  }
  return instance;
}

/**
 * Sends the upgrade request to `instance`. Resolves once a `101` was relayed and the sockets
 * spliced, or once a refusal was relayed; rejects (nothing written yet) when the instance
 * cannot be reached or does not answer within the route timeout.
 */
function forward(
  ctx: GatewayContext,
  instance: ServiceInstance,
  path: string,
  headers: OutgoingHeaders,
): Promise<void> {
  const { route, res } = ctx;
  const address = `${instance.address.includes(':') ? `[${instance.address}]` : instance.address}:${instance.port}`;
  const where = `upstream ${route.service} (${address})`;
  const details = { service: route.service ?? '', route: route.name, instance: instance.id, address };
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err === undefined) resolve();
      else reject(err);
    };
    const upstream = httpRequest({
      host: instance.address,
      port: instance.port,
      method: ctx.method,
      path,
      headers,
      agent: false,
      signal: ctx.signal,
    });
    const timer = setTimeout(() => {
      settle(
        gatewayError('SY_GATEWAY_UPSTREAM_TIMEOUT', `${where} did not answer the upgrade within ${route.timeoutMs}ms`, {
          details,
        }),
      );
      upstream.destroy();
    }, route.timeoutMs);
    upstream.on('error', (err) => {
      if (ctx.signal.aborted) return settle(ctx.signal.reason);
      const refused = (err as { code?: unknown }).code === 'ECONNREFUSED';
      const reason = describeError(err);
      settle(
        gatewayError(
          'SY_GATEWAY_UPSTREAM_FAILED',
          refused ? `could not connect to ${where}: ${reason}` : `${where} failed during the upgrade: ${reason}`,
          { cause: err, details },
        ),
      );
    });
    upstream.on('response', (answer) => {
      // The instance declined to switch protocols: its answer goes to the client as it is.
      clearTimeout(timer);
      const out = downstreamResponseHeaders(answer.headers, ctx.requestId);
      for (const name of res.getHeaderNames()) delete out[name];
      res.writeHead(answer.statusCode ?? 502, out);
      answer.on('error', (err) => res.destroy(err));
      res.once('close', () => {
        answer.destroy();
        settle();
      });
      answer.pipe(res);
      res.once('finish', () => settle());
    });
    upstream.on('upgrade', (answer, upstreamSocket, upstreamHead) => {
      const client = ctx.req.socket;
      if (settled || client.destroyed) {
        upstreamSocket.destroy();
        return settle();
      }
      const out = downstreamResponseHeaders(answer.headers, ctx.requestId);
      // Headers a middleware set (CORS, RateLimit) win, as on HTTP responses.
      for (const [name, value] of Object.entries(res.getHeaders())) {
        if (value !== undefined) out[name] = Array.isArray(value) ? value : String(value);
      }
      out.connection = 'Upgrade';
      out.upgrade = String(answer.headers.upgrade ?? 'websocket');
      let head = `HTTP/1.1 101 ${answer.statusMessage || 'Switching Protocols'}\r\n`;
      for (const [name, value] of Object.entries(out)) {
        for (const line of Array.isArray(value) ? value : [value]) head += `${name}: ${line}\r\n`;
      }
      client.write(`${head}\r\n`);
      if (upstreamHead.length > 0) client.write(upstreamHead);
      splice(client, upstreamSocket);
      settle();
    });
    upstream.end();
  });
}

/**
 * Pipes two sockets into each other. An end on one side ends the other once its data is out;
 * a close or an error on either destroys both after at most a second of flushing.
 */
function splice(client: Duplex, upstream: Duplex): void {
  for (const socket of [client, upstream] as const) {
    (socket as Partial<Socket>).setTimeout?.(0);
    (socket as Partial<Socket>).setNoDelay?.(true);
  }
  const release = (socket: Duplex): void => {
    if (socket.destroyed) return;
    if (socket.writableFinished) {
      socket.destroy();
      return;
    }
    socket.end(() => socket.destroy());
    setTimeout(() => socket.destroy(), 1_000).unref();
  };
  client.once('close', () => release(upstream));
  upstream.once('close', () => release(client));
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
}
