/**
 * Read-only discovery from Kubernetes EndpointSlices: list a Service's slices, then watch them
 * from the list's resourceVersion, so no change falls between the two; a watch that ends resumes
 * where it left off, and one whose resourceVersion expired (410 Gone) lists again.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { exponentialBackoff, invalidConfig, isSwitchyardError, type SwitchyardError } from '@switchyard/core';
import type { DiscoverySource, DiscoveryWatcher, Subscription } from '@switchyard/discovery';
import { type EndpointSlice, endpointSliceProblem, toInstances } from './endpoint-slices.ts';
import { kubernetesError } from './errors.ts';
import { defaultNamespace, type KubernetesDiscoveryOptions, resolveKubernetesDiscoveryOptions } from './options.ts';

/** A `DiscoverySource` that follows Services through their EndpointSlices. */
export interface KubernetesDiscovery extends DiscoverySource, AsyncDisposable {
  /** The namespace whose Services are watched. */
  readonly namespace: string;
  /**
   * Follows the Service named `service`: the first list comes as soon as the API server answers,
   * then a new full list whenever the ready endpoints change. Errors go to `watcher.error`
   * (`SY_KUBERNETES_UNAVAILABLE`, `_FORBIDDEN`, `_REQUEST_FAILED`, `_INVALID_RESPONSE`) while the
   * watch retries with capped backoff; after a 410 Gone it lists again and calls
   * `watcher.resynced('410 Gone: resourceVersion expired')` just before the re-listed set.
   * A name that is not a Service name gets `SY_KUBERNETES_INVALID_SERVICE` and nothing is sent;
   * after `close()`, `SY_KUBERNETES_CLOSED`.
   */
  watch(service: string, watcher: DiscoveryWatcher): Subscription;
  /** Stops every watch (open requests are aborted); idempotent. */
  close(): Promise<void>;
}

/** `resynced` is optional on watchers; spelled out so the call reads the same on any version of the port. */
type ResyncAwareWatcher = DiscoveryWatcher & { resynced?(reason: string): void };

/** A Service name: a DNS-1035 label. */
const SERVICE_NAME = /^(?=.{1,63}$)[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** A LIST that sends nothing for this long is on a dead connection. */
const LIST_IDLE_MS = 30_000;

/** The reason given to `watcher.resynced` after a 410 Gone. */
const GONE_REASON = '410 Gone: resourceVersion expired';

/** Thrown inside the watch loop when the API server says the resourceVersion is too old. */
class ResourceExpired extends Error {}

/** What the API server sent back, for error messages. */
interface HttpFailure {
  readonly status: number;
  readonly statusText: string;
  /** The `message` of a `Status` body, or the body's start. */
  readonly message: string;
  readonly reason: string | undefined;
}

function callSafely(run: () => void): void {
  try {
    run();
  } catch (err) {
    process.emitWarning(err instanceof Error ? err : String(err), 'SwitchyardKubernetesWarning');
  }
}

function subscription(teardown: () => void): Subscription {
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    teardown();
  };
  return { dispose, [Symbol.dispose]: dispose };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a Kubernetes `Status` body (or any text) into a short message. */
function failureOf(res: IncomingMessage, body: string): HttpFailure {
  let message = body.trim().slice(0, 500);
  let reason: string | undefined;
  try {
    const status: unknown = JSON.parse(body);
    if (isRecord(status)) {
      if (typeof status.message === 'string') message = status.message;
      if (typeof status.reason === 'string') reason = status.reason;
    }
  } catch {
    // Not a Status object (a proxy's HTML page, say): the text itself is the message.
  }
  const status = res.statusCode ?? 0;
  return { status, statusText: res.statusMessage || http.STATUS_CODES[status] || '', message, reason };
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      body += chunk;
    });
    res.on('end', () => resolve(body));
    res.on('error', reject);
  });
}

/**
 * Creates a read-only discovery source over the EndpointSlices of one namespace. Nothing is sent
 * until the first `watch`.
 *
 * It needs `get`, `list` and `watch` on `endpointslices` in API group `discovery.k8s.io` in the
 * namespace (a Role and RoleBinding for the pod's service account).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the bad field (`kubernetes.namespace: ...`),
 *   or `kubernetes.kubeConfig` when the kubeconfig has no current cluster
 * @example
 * ```ts
 * import { createKubernetesDiscovery } from '@switchyard/adapter-kubernetes';
 * import { createDiscoveryClient } from '@switchyard/discovery';
 *
 * const discovery = createDiscoveryClient({ source: createKubernetesDiscovery({ namespace: 'shop', port: 'http' }) });
 * console.log(await discovery.instances('orders')); // the ready pods behind Service shop/orders
 * await discovery.close();
 * ```
 */
export function createKubernetesDiscovery(options: KubernetesDiscoveryOptions = {}): KubernetesDiscovery {
  const config = resolveKubernetesDiscoveryOptions(options);
  const kubeConfig = config.kubeConfig ?? loadDefaultKubeConfig();
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) {
    throw invalidConfig([
      {
        path: 'kubernetes.kubeConfig',
        message: `no current cluster (current context: ${JSON.stringify(kubeConfig.getCurrentContext())}); set KUBECONFIG, run inside a pod, or pass a KubeConfig`,
      },
    ]);
  }
  const namespace = config.namespace ?? defaultNamespace(kubeConfig);
  // The server URL may carry a path (a proxy in front of the API server), so paths are appended.
  const server = cluster.server.replace(/\/+$/, '');
  const lifetime = new AbortController();
  const activeWatches = new Set<AbortController>();
  const idleMs = (config.watchTimeoutSeconds + 30) * 1000;
  let closing: Promise<void> | undefined;

  const slicesPath = `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`;

  /**
   * Opens a GET with the kubeconfig's TLS settings, credentials and proxy applied. The library's
   * `Watch` would do this too, but it drops lines that are not JSON without a word and reads no
   * body of a refusal, and both must be reported here.
   */
  async function get(query: URLSearchParams, signal: AbortSignal, idle?: number): Promise<IncomingMessage> {
    const requestOptions: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
    // Credentials may be refreshed (exec and OIDC plugins), so they are applied per request.
    await kubeConfig.applyToHTTPSOptions(requestOptions);
    const url = new URL(`${server}${slicesPath}?${query}`);
    const send = url.protocol === 'https:' ? https.request : http.request;
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const req: ClientRequest = send(url, { ...requestOptions, signal }, resolve);
      req.on('error', reject);
      if (idle !== undefined) {
        // A watch that hears nothing (not even a bookmark) for this long is on a dead connection.
        req.setTimeout(idle, () => req.destroy(new Error(`no data for ${idle} ms`)));
      }
      req.end();
    });
  }

  /** Turns a failure into this package's error; `verb` is what was asked (`list` or `watch`). */
  function wrap(err: unknown, verb: 'list' | 'watch', service: string): SwitchyardError {
    if (isSwitchyardError(err)) return err;
    const what = `kubernetes ${verb} endpointslices of Service ${namespace}/${service}`;
    return kubernetesError('SY_KUBERNETES_UNAVAILABLE', `${what}: ${describe(err)} (${server})`, {
      cause: err,
      details: { server, namespace, service },
    });
  }

  function refused(failure: HttpFailure, verb: 'list' | 'watch', service: string): SwitchyardError {
    const what = `kubernetes ${verb} endpointslices of Service ${namespace}/${service}`;
    const details = { server, namespace, service, status: failure.status, message: failure.message };
    const answer = `${failure.status} ${failure.statusText}: ${failure.message}`;
    if (failure.status === 403) {
      return kubernetesError(
        'SY_KUBERNETES_FORBIDDEN',
        `${what}: refused (${answer}); grant "${verb}" (with get, list and watch) on endpointslices.discovery.k8s.io in namespace "${namespace}" through a Role and RoleBinding`,
        { details },
      );
    }
    if (failure.status === 401) {
      return kubernetesError(
        'SY_KUBERNETES_FORBIDDEN',
        `${what}: the credentials were not accepted (${answer}); check the kubeconfig user or the service account token`,
        { details },
      );
    }
    if (failure.status === 429 || failure.status >= 500) {
      return kubernetesError('SY_KUBERNETES_UNAVAILABLE', `${what}: ${answer}`, { details });
    }
    return kubernetesError('SY_KUBERNETES_REQUEST_FAILED', `${what}: ${answer}`, { details });
  }

  function invalid(message: string, service: string, details: Record<string, string> = {}): SwitchyardError {
    return kubernetesError(
      'SY_KUBERNETES_INVALID_RESPONSE',
      `kubernetes endpointslices of ${namespace}/${service}: ${message}`,
      {
        details: { namespace, service, ...details },
      },
    );
  }

  async function follow(service: string, watcher: ResyncAwareWatcher, signal: AbortSignal): Promise<void> {
    const delay = exponentialBackoff({ initialMs: config.minRetryDelayMs, maxMs: config.maxRetryDelayMs });
    const selector = `kubernetes.io/service-name=${service}`;
    /**
     * Set when an error was reported: the next confirmation (a list, a watch accepted, an event
     * applied) pushes the list even unchanged, which tells the client it is current again.
     */
    let owed = false;
    const report = (err: unknown) => {
      owed = true;
      callSafely(() => watcher.error(err));
    };
    let slices: Map<string, EndpointSlice> | undefined;
    /** Every change up to this version is in `slices`; a resumed watch starts from it. */
    let resourceVersion = '';
    /** The last list pushed, as JSON, so an unchanged list is not pushed again. */
    let pushed: string | undefined;
    let failures = 0;
    /** Watches in a row that ended without a line: only those wait before reconnecting. */
    let quietEnds = 0;
    /** Re-lists after a 410 in a row without an event in between; only a repeat waits. */
    let resyncs = 0;
    let resyncReason: string | undefined;

    const push = () => {
      if (slices === undefined || signal.aborted) return;
      const list = toInstances(service, slices.values(), config);
      const json = JSON.stringify(list);
      if (json === pushed && !owed) return;
      pushed = json;
      owed = false;
      callSafely(() => watcher.next(Object.freeze(list)));
    };

    /** Lists the Service's slices; a bad slice is skipped and reported. */
    async function list(): Promise<void> {
      const res = await get(new URLSearchParams({ labelSelector: selector }), signal, LIST_IDLE_MS);
      const body = await readBody(res);
      if (res.statusCode !== 200) {
        if (res.statusCode === 410) throw new ResourceExpired();
        throw refused(failureOf(res, body), 'list', service);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw invalid(`the list is not JSON: ${body.slice(0, 200)}`, service);
      }
      const metadata = isRecord(parsed) ? parsed.metadata : undefined;
      const items = isRecord(parsed) ? parsed.items : undefined;
      if (!isRecord(metadata) || typeof metadata.resourceVersion !== 'string' || !Array.isArray(items)) {
        throw invalid('expected an EndpointSliceList with metadata.resourceVersion and items', service);
      }
      const listed = new Map<string, EndpointSlice>();
      for (const item of items) {
        const problem = endpointSliceProblem(item);
        if (problem === undefined) {
          const slice = item as EndpointSlice;
          listed.set(slice.metadata.name, slice);
        } else report(invalid(`skipped a list item: ${problem}`, service));
      }
      slices = listed;
      resourceVersion = metadata.resourceVersion;
    }

    /** Applies one watch line; returns normally, or throws to end the watch. */
    function apply(line: string, current: Map<string, EndpointSlice>): void {
      let event: unknown;
      try {
        event = JSON.parse(line);
      } catch {
        report(invalid('skipped a watch line that is not JSON', service, { line: line.slice(0, 500) }));
        return;
      }
      const type = isRecord(event) ? event.type : undefined;
      const object = isRecord(event) ? event.object : undefined;
      if (type === 'ERROR') {
        const code = isRecord(object) ? object.code : undefined;
        if (code === 410) throw new ResourceExpired();
        const message = isRecord(object) && typeof object.message === 'string' ? object.message : line.slice(0, 500);
        throw kubernetesError(
          typeof code === 'number' && (code === 429 || code >= 500)
            ? 'SY_KUBERNETES_UNAVAILABLE'
            : 'SY_KUBERNETES_REQUEST_FAILED',
          `kubernetes watch endpointslices of Service ${namespace}/${service}: the server ended the watch with an error (${String(code)}): ${message}`,
          { details: { server, namespace, service, status: typeof code === 'number' ? code : 0, message } },
        );
      }
      const version =
        isRecord(object) && isRecord(object.metadata) && typeof object.metadata.resourceVersion === 'string'
          ? object.metadata.resourceVersion
          : undefined;
      if (type === 'BOOKMARK') {
        if (version !== undefined) resourceVersion = version;
        return;
      }
      if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') {
        report(
          invalid(`skipped a watch event of unknown type ${JSON.stringify(type)}`, service, {
            line: line.slice(0, 500),
          }),
        );
        return;
      }
      const problem = endpointSliceProblem(object);
      if (problem !== undefined) {
        report(invalid(`skipped a ${type} event: ${problem}`, service, { line: line.slice(0, 500) }));
        return;
      }
      const slice = object as unknown as EndpointSlice;
      if (type === 'DELETED') current.delete(slice.metadata.name);
      else current.set(slice.metadata.name, slice);
      if (version !== undefined) resourceVersion = version;
      resyncs = 0;
      push();
    }

    /** Follows one watch request until it ends; resolves with the number of lines it carried. */
    async function stream(current: Map<string, EndpointSlice>): Promise<number> {
      const query = new URLSearchParams({
        labelSelector: selector,
        watch: '1',
        resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(config.watchTimeoutSeconds),
      });
      const res = await get(query, signal, idleMs);
      if (res.statusCode !== 200) {
        const body = await readBody(res);
        if (res.statusCode === 410) throw new ResourceExpired();
        throw refused(failureOf(res, body), 'watch', service);
      }
      failures = 0;
      // The watch is accepted: the list is current again if an error had made it doubtful.
      if (owed) push();
      return await new Promise<number>((resolve, reject) => {
        let buffered = '';
        let lines = 0;
        let settled = false;
        const fail = (err: unknown) => {
          if (settled) return;
          settled = true;
          res.destroy();
          reject(err);
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (settled) return;
          buffered += chunk;
          let newline = buffered.indexOf('\n');
          while (newline >= 0 && !settled) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line !== '') {
              lines += 1;
              try {
                apply(line, current);
              } catch (err) {
                fail(err);
              }
            }
            newline = buffered.indexOf('\n');
          }
        });
        res.on('end', () => {
          if (settled) return;
          const rest = buffered.trim();
          if (rest !== '') {
            lines += 1;
            try {
              apply(rest, current);
            } catch (err) {
              fail(err);
              return;
            }
          }
          settled = true;
          resolve(lines);
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(new Error('the watch connection closed mid-stream'));
        });
      });
    }

    while (!signal.aborted) {
      try {
        if (slices === undefined) {
          await list();
          failures = 0;
          if (resyncReason !== undefined) {
            // Announced just before the `next` carrying the re-listed set, which always comes.
            const reason = resyncReason;
            resyncReason = undefined;
            owed = true;
            callSafely(() => watcher.resynced?.(reason));
          }
          push();
        }
        const current = slices;
        if (current === undefined) continue;
        const lines = await stream(current);
        // A watch that ran and ended (timeoutSeconds) resumes at once; one that ends empty-handed
        // again and again is a server or proxy cutting it, so those wait.
        if (lines > 0) quietEnds = 0;
        else {
          quietEnds += 1;
          await sleep(delay(quietEnds), signal);
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ResourceExpired) {
          resyncs += 1;
          slices = undefined;
          resyncReason = GONE_REASON;
          // The first re-list goes at once; only a repeat (expiring again at once) waits.
          if (resyncs > 1) await sleep(delay(resyncs - 1), signal);
          continue;
        }
        failures += 1;
        report(wrap(err, slices === undefined ? 'list' : 'watch', service));
        await sleep(delay(failures), signal);
      }
    }
  }

  const source: KubernetesDiscovery = {
    namespace,

    watch(service, watcher) {
      const controller = new AbortController();
      if (lifetime.signal.aborted) {
        callSafely(() =>
          watcher.error(
            kubernetesError(
              'SY_KUBERNETES_CLOSED',
              `kubernetes discovery: watch(${JSON.stringify(service)}) after close()`,
            ),
          ),
        );
        return subscription(() => {});
      }
      if (!SERVICE_NAME.test(service)) {
        // Checked here because the name goes into a label selector, where "," or "=" would change its meaning.
        callSafely(() =>
          watcher.error(
            kubernetesError(
              'SY_KUBERNETES_INVALID_SERVICE',
              `kubernetes discovery: ${JSON.stringify(service)} is not a Service name (expected a DNS-1035 label such as "orders")`,
              { details: { service } },
            ),
          ),
        );
        return subscription(() => {});
      }
      activeWatches.add(controller);
      follow(service, watcher, controller.signal).catch((err: unknown) =>
        callSafely(() => watcher.error(wrap(err, 'watch', service))),
      );
      return subscription(() => {
        controller.abort();
        activeWatches.delete(controller);
      });
    },

    close() {
      closing ??= (async () => {
        lifetime.abort();
        for (const controller of activeWatches) controller.abort();
        activeWatches.clear();
      })();
      return closing;
    },

    [Symbol.asyncDispose]() {
      return source.close();
    },
  };
  return source;
}

/** KUBECONFIG, then ~/.kube/config, then the in-cluster service account, as kubectl looks. */
function loadDefaultKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return kubeConfig;
}
