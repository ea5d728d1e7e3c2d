import type { ServiceInstance } from '@switchyard/core';

/**
 * Where the gateway learns the instances of a service. The discovery client satisfies it
 * structurally; tests and embedders can pass a plain object.
 *
 * The gateway calls it once per request, so implementations should answer from a cache.
 * Instances whose `status` is `critical` are skipped; `passing` and `warning` ones are used.
 *
 * @example
 * ```ts
 * const discovery: InstanceSource = {
 *   async instances(service) {
 *     return service === 'orders'
 *       ? [{ id: 'orders-1', service, address: '127.0.0.1', port: 3001, tags: [], meta: {}, status: 'passing', weight: 1 }]
 *       : [];
 *   },
 * };
 * ```
 */
export interface InstanceSource {
  /** The current instances of `service`; rejects with `SY_CANCELLED` when `signal` aborts. */
  instances(service: string, signal?: AbortSignal): Promise<readonly ServiceInstance[]>;
}

/**
 * The logger the gateway writes to: the shape of a pino logger (`logger.warn({ err }, 'msg')`).
 * Without one the gateway logs nothing.
 *
 * @example
 * ```ts
 * const logger: GatewayLogger = {
 *   info: (obj, msg) => console.log(msg, obj),
 *   warn: (obj, msg) => console.warn(msg, obj),
 *   error: (obj, msg) => console.error(msg, obj),
 * };
 * ```
 */
export interface GatewayLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/**
 * A logger that drops everything: the default.
 *
 * @example
 * ```ts
 * createGatewayHandler({ options, discovery, logger: silentLogger });
 * ```
 */
export const silentLogger: GatewayLogger = {
  info() {},
  warn() {},
  error() {},
};
