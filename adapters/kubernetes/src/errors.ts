import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/adapter-kubernetes`. Codes are public API: never renamed or reused. */
export const kubernetesErrorCodes = {
  SY_KUBERNETES_UNAVAILABLE: {
    summary:
      'The Kubernetes API server could not be reached, answered 429 or 5xx, or a watch connection broke or went silent; `cause` is the underlying error.',
    retryable: true,
  },
  SY_KUBERNETES_FORBIDDEN: {
    summary:
      'The API server refused to list or watch EndpointSlices (403: RBAC lacks list/watch on endpointslices.discovery.k8s.io in the namespace; 401: credentials not accepted).',
    retryable: false,
  },
  SY_KUBERNETES_REQUEST_FAILED: {
    summary:
      'The API server answered with another 4xx (404: discovery.k8s.io/v1 not served, namespace or path wrong; 400: a bad request); `details.status` is the code.',
    retryable: false,
  },
  SY_KUBERNETES_INVALID_RESPONSE: {
    summary:
      'The API server sent something that is not the expected shape: a list without `items` or `metadata.resourceVersion`, a watch line that is not JSON or has an unknown type, or an EndpointSlice without a name; it is skipped and reported.',
    retryable: true,
  },
  SY_KUBERNETES_INVALID_SERVICE: {
    summary:
      'The name given to `watch()` is not a Kubernetes Service name (a DNS-1035 label: lower-case alphanumerics and "-", starting with a letter, at most 63 characters); nothing is sent.',
    retryable: false,
  },
  SY_KUBERNETES_CLOSED: {
    summary: 'The Kubernetes discovery source was used after `close()`.',
    retryable: false,
  },
  SY_KUBERNETES_APPLY_CONFIG: {
    summary:
      'Server-side apply could not start: the kubeconfig file cannot be read or parsed, the requested context does not exist, or the config has no current cluster.',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link kubernetesErrorCodes}. */
export type KubernetesErrorCode = keyof typeof kubernetesErrorCodes;

/**
 * Creates an error with one of the Kubernetes adapter's codes.
 *
 * @example
 * ```ts
 * throw kubernetesError('SY_KUBERNETES_CLOSED', 'kubernetes discovery: watch() after close()');
 * ```
 */
export const kubernetesError = errorFactory(kubernetesErrorCodes);
