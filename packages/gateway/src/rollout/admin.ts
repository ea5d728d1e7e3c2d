import { isSwitchyardError } from '@switchyard/core';
import { gatewayError, httpStatusOf } from '../errors.ts';
import type { RolloutController } from './controller.ts';

/** One admin answer: status and JSON body. */
export interface RolloutAdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** An admin endpoint of rollouts: its method and how it answers. */
export interface RolloutAdminEndpoint {
  readonly method: 'GET' | 'POST';
  readonly run: () => Promise<RolloutAdminAnswer>;
}

const actions = ['start', 'promote', 'abort'] as const;

/**
 * The rollout endpoint at `target` (path and query), or undefined when the path is not one:
 * `GET /admin/rollouts`, `GET /admin/rollouts/:name`, `POST /admin/rollouts/:name/start|promote|abort`
 * (`?reason=` is recorded in the history). Errors answer with their code's status (404 unknown
 * rollout, 409 conflict, 503 store failure).
 *
 * @example
 * ```ts
 * const endpoint = rolloutAdminEndpoint(controller, '/admin/rollouts/orders/promote?reason=looks%20good');
 * if (endpoint?.method === req.method) send(await endpoint.run());
 * ```
 */
export function rolloutAdminEndpoint(
  controller: RolloutController | undefined,
  target: string,
): RolloutAdminEndpoint | undefined {
  const url = new URL(target, 'http://admin.invalid');
  const parts = url.pathname.split('/').slice(1);
  if (parts[0] !== 'admin' || parts[1] !== 'rollouts' || parts.length > 4) return undefined;
  const guard = async (work: () => Promise<unknown>): Promise<RolloutAdminAnswer> => {
    try {
      return { status: 200, body: await work() };
    } catch (err) {
      if (!isSwitchyardError(err)) throw err;
      return {
        status: httpStatusOf(err),
        body: { error: { code: err.code, message: err.message, details: err.details } },
      };
    }
  };
  const configured = (): RolloutController => {
    if (controller !== undefined) return controller;
    throw gatewayError('SY_GATEWAY_ROLLOUT_NOT_FOUND', 'this gateway has no rollouts (gateway.rollouts)');
  };
  if (parts.length === 2) {
    return { method: 'GET', run: () => guard(async () => ({ rollouts: (await controller?.list()) ?? [] })) };
  }
  let name: string;
  try {
    name = decodeURIComponent(parts[2] ?? '');
  } catch {
    return undefined;
  }
  if (name === '') return undefined;
  if (parts.length === 3)
    return { method: 'GET', run: () => guard(async () => ({ rollout: await configured().get(name) })) };
  const action = actions.find((a) => a === parts[3]);
  if (action === undefined) return undefined;
  const reason = url.searchParams.get('reason')?.trim() || undefined;
  return {
    method: 'POST',
    run: () => guard(async () => ({ rollout: await configured()[action](name, reason) })),
  };
}
