/**
 * A loopback stand-in for the Kubernetes API server that replays recorded responses from
 * `src/fixtures/`: LIST and WATCH requests of EndpointSlices are answered from two queues, in
 * order. Tests only; never exported.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** How one request is answered. */
export type Reply =
  /** A whole response: status and JSON body (a fixture's text). */
  | { readonly status: number; readonly body: string }
  /** A 200 watch stream sending these lines, then ending, or staying open when `hold`. */
  | { readonly lines: readonly string[]; readonly hold?: boolean };

/** Reads a fixture's text. */
export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
}

/** The non-empty lines of an NDJSON fixture. */
export function fixtureLines(name: string): string[] {
  return fixture(name)
    .split('\n')
    .filter((line) => line !== '');
}

export interface FakeApiServer {
  readonly kubeConfig: KubeConfig;
  /** Every request received, in order. */
  readonly requests: URL[];
  /** Watch connections still open. */
  openWatches(): number;
  /** Queues the answer to the next LIST; with none queued a LIST gets 500. */
  onList(reply: Reply): void;
  /** Queues the answer to the next WATCH; with none queued a watch is held open. */
  onWatch(reply: Reply): void;
  close(): Promise<void>;
}

export async function startFakeApiServer(): Promise<FakeApiServer> {
  const requests: URL[] = [];
  const lists: Reply[] = [];
  const watches: Reply[] = [];
  const open = new Set<ServerResponse>();

  const answer = (reply: Reply, req: IncomingMessage, res: ServerResponse) => {
    if ('status' in reply) {
      res.writeHead(reply.status, { 'Content-Type': 'application/json' });
      res.end(reply.body);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // The API server sends a watch's headers at once, before any event.
    res.flushHeaders();
    for (const line of reply.lines) res.write(`${line}\n`);
    if (reply.hold === true) {
      open.add(res);
      req.on('close', () => open.delete(res));
    } else res.end();
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url);
    if (url.searchParams.get('watch') === '1') {
      answer(watches.shift() ?? { lines: [], hold: true }, req, res);
    } else {
      answer(
        lists.shift() ?? { status: 500, body: '{"kind":"Status","code":500,"message":"no list queued"}' },
        req,
        res,
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    // http: needs skipTLSVerify in @kubernetes/client-node; a real cluster is https.
    clusters: [{ name: 'recorded', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'recorded-token' }],
    contexts: [{ name: 'recorded', cluster: 'recorded', user: 'tester', namespace: 'shop' }],
    currentContext: 'recorded',
  });

  return {
    kubeConfig,
    requests,
    openWatches: () => open.size,
    onList: (reply) => lists.push(reply),
    onWatch: (reply) => watches.push(reply),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
