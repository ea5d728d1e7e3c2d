import {
  ApiException,
  type Configuration,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  Observable,
  PatchStrategy,
  type ResponseContext,
} from '@kubernetes/client-node';
import { kubernetesError } from './errors.ts';

/** Options of {@link serverSideApply}. */
export interface ServerSideApplyOptions {
  /** The cluster and credentials. @default loaded from `kubeconfig`, else `KUBECONFIG`, `~/.kube/config` or in-cluster */
  readonly kubeConfig?: KubeConfig;
  /** Path of a kubeconfig file (instead of `kubeConfig`). */
  readonly kubeconfig?: string;
  /** Context of the kubeconfig to use. @default its current context */
  readonly context?: string;
  /** The field manager that owns the applied fields. @default "switchyard" */
  readonly fieldManager?: string;
  /** Take over fields another manager owns instead of failing with a conflict (409). @default false */
  readonly force?: boolean;
  /** Have the API server validate, default and admit the objects without storing them (`dryRun=All`). @default false */
  readonly dryRun?: boolean;
}

/** The outcome for one object. */
export type AppliedObject =
  | {
      readonly ok: true;
      readonly kind: string;
      readonly name: string;
      readonly namespace: string | undefined;
      /** `created` (201) or `configured` (200); with `dryRun`, what would have happened. */
      readonly result: 'created' | 'configured';
      /** The object as the API server returned it. */
      readonly object: KubernetesObject;
    }
  | {
      readonly ok: false;
      readonly kind: string;
      readonly name: string;
      readonly namespace: string | undefined;
      /** HTTP status (0 when the API server could not be reached). */
      readonly status: number;
      /** The Status `reason` (`Invalid`, `Forbidden`, `NotFound`, `Conflict`), or `Unreachable`. */
      readonly reason: string;
      /** The API server's message, with each of a 422's causes as `field: message` lines. */
      readonly message: string;
    };

/**
 * Applies objects by **server-side apply**: for each, `PATCH` to its resource path with
 * `Content-Type: application/apply-patch+yaml`, `fieldManager` and, when asked, `force=true`
 * and `dryRun=All`, through `@kubernetes/client-node`'s `KubernetesObjectApi` (which looks up
 * each API group's resources first: an API group the cluster does not serve, such as Istio's
 * without its CRDs, fails with 404 there). Objects are applied in order; a failure is
 * recorded and the next object still applied, as `kubectl apply` does.
 *
 * @throws SwitchyardError `SY_KUBERNETES_APPLY_CONFIG` when the kubeconfig or context cannot be loaded
 * @example
 * ```ts
 * const results = await serverSideApply(resources, { context: 'prod', force: true });
 * for (const r of results) console.log(r.ok ? `${r.kind}/${r.name} ${r.result}` : `${r.kind}/${r.name}: ${r.message}`);
 * ```
 */
export async function serverSideApply(
  objects: readonly KubernetesObject[],
  options: ServerSideApplyOptions = {},
): Promise<AppliedObject[]> {
  const kubeConfig = loadKubeConfig(options);
  const client = StatusRecordingApi.create(kubeConfig);
  const out: AppliedObject[] = [];
  for (const object of objects) {
    const kind = object.kind ?? '?';
    const name = object.metadata?.name ?? '?';
    const namespace = object.metadata?.namespace;
    client.lastStatus = 0;
    try {
      const applied = await client.patch(
        structuredClone(object),
        undefined,
        options.dryRun === true ? 'All' : undefined,
        options.fieldManager ?? 'switchyard',
        options.force === true ? true : undefined,
        PatchStrategy.ServerSideApply,
      );
      out.push({
        ok: true,
        kind,
        name,
        namespace,
        result: client.lastStatus === 201 ? 'created' : 'configured',
        object: applied,
      });
    } catch (err) {
      out.push({ ok: false, kind, name, namespace, ...failure(err) });
    }
  }
  return out;
}

/** Status, reason and message of a failed request; a Status body's causes become lines. */
function failure(err: unknown): { status: number; reason: string; message: string } {
  if (err instanceof ApiException) {
    const body = parseBody(err.body);
    const reason = typeof body?.reason === 'string' ? body.reason : `HTTP ${err.code}`;
    let message = typeof body?.message === 'string' ? body.message : String(err.message);
    const details = body?.details as { causes?: { field?: string; message?: string }[] } | undefined;
    for (const cause of details?.causes ?? []) message += `\n${cause.field ?? '(object)'}: ${cause.message ?? ''}`;
    if (err.code === 404 && /Failed to fetch resource metadata/.test(String(err.message))) {
      message = `the API server does not serve this API group/version (is the CRD installed?): ${message}`;
      return { status: 404, reason: 'NotFound', message };
    }
    return { status: err.code, reason, message };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/Unrecognized API version and kind/.test(message)) {
    return {
      status: 404,
      reason: 'NotFound',
      message: `the API server does not serve this kind (is the CRD installed?): ${message}`,
    };
  }
  return { status: 0, reason: 'Unreachable', message };
}

function parseBody(body: unknown): Record<string, unknown> | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

function loadKubeConfig(options: ServerSideApplyOptions): KubeConfig {
  try {
    let kubeConfig = options.kubeConfig;
    if (kubeConfig === undefined) {
      kubeConfig = new KubeConfig();
      if (options.kubeconfig !== undefined) kubeConfig.loadFromFile(options.kubeconfig);
      else kubeConfig.loadFromDefault();
    }
    if (options.context !== undefined) {
      if (!kubeConfig.getContexts().some((c) => c.name === options.context)) {
        throw new Error(
          `no context ${JSON.stringify(options.context)} (have: ${
            kubeConfig
              .getContexts()
              .map((c) => c.name)
              .join(', ') || 'none'
          })`,
        );
      }
      kubeConfig.setCurrentContext(options.context);
    }
    if (kubeConfig.getCurrentCluster() === null) throw new Error('the kubeconfig has no current cluster');
    return kubeConfig;
  } catch (err) {
    throw kubernetesError('SY_KUBERNETES_APPLY_CONFIG', `cannot load the kubeconfig: ${(err as Error).message}`, {
      cause: err,
      details: { kubeconfig: options.kubeconfig ?? null, context: options.context ?? null },
    });
  }
}

/**
 * `KubernetesObjectApi` that remembers the status of the last response, to tell an object
 * created (201) from one updated (200): the API returns only the object.
 */
class StatusRecordingApi extends KubernetesObjectApi {
  lastStatus = 0;

  static create(kubeConfig: KubeConfig): StatusRecordingApi {
    const client = kubeConfig.makeApiClient(StatusRecordingApi);
    client.setDefaultNamespace(kubeConfig);
    client.record();
    return client;
  }

  private record(): void {
    const configuration: Configuration = this.configuration;
    configuration.middleware.push({
      pre: (context) => new Observable(Promise.resolve(context)),
      post: (response: ResponseContext) => {
        this.lastStatus = response.httpStatusCode;
        return new Observable(Promise.resolve(response));
      },
    });
  }
}
