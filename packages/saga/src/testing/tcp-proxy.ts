/**
 * A TCP proxy in front of a broker (or any server), so a test can
 * cut the bus's connection as a network failure would, and refuse reconnections for a while.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A running proxy on 127.0.0.1. */
export interface TcpProxy {
  readonly port: number;
  /** Destroys every proxied connection (both sides), as a network failure would. */
  cut(): void;
  /** While true, new connections are closed at once. */
  refuse(refusing: boolean): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free port forwarding to `host:port`. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    port: address.port,
    cut() {
      for (const s of sockets) s.destroy();
    },
    refuse(value) {
      refusing = value;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
