import { invalidConfig, resolveOptions } from '@switchyard/core';
import * as z from 'zod';

const nodeHandlerOptionsSchema = z.strictObject({
  maxBodyBytes: z.int().min(1).default(1_048_576),
  responseHeaders: z.record(z.string(), z.string()).default({}),
});

/** {@link NodeHandlerOptions} with every default filled in; frozen. */
export type ResolvedNodeHandlerOptions = Readonly<z.output<typeof nodeHandlerOptionsSchema>>;

/**
 * Validates the node adapter's options and fills in defaults.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field
 * @example
 * ```ts
 * resolveNodeHandlerOptions({ maxBodyBytes: 1024 }); // { maxBodyBytes: 1024, responseHeaders: {} }
 * ```
 */
export function resolveNodeHandlerOptions(input: unknown): ResolvedNodeHandlerOptions {
  return resolveOptions(nodeHandlerOptionsSchema, input, 'toNodeHandler');
}

/** The environment variables the shop services read, as `process.env` holds them. */
export type ShopEnv = Readonly<Record<string, string | undefined>>;

/** The three shop services. */
export const ShopService = { Orders: 'orders', Inventory: 'inventory', Payments: 'payments' } as const;
/** One of {@link ShopService}. */
export type ShopService = (typeof ShopService)[keyof typeof ShopService];

/** The data directory used when `SWITCHYARD_DATA_DIR` is unset: `examples/shop/.data/`. */
export const defaultDataDir: URL = new URL('../.data/', import.meta.url);

/**
 * The directory holding the services' SQLite files: `SWITCHYARD_DATA_DIR`, or
 * {@link defaultDataDir}.
 *
 * @example
 * ```ts
 * resolveDataDir({ SWITCHYARD_DATA_DIR: '/tmp/shop' }); // '/tmp/shop'
 * ```
 */
export function resolveDataDir(env: ShopEnv): string | URL {
  const dir = env.SWITCHYARD_DATA_DIR?.trim();
  return dir === undefined || dir === '' ? defaultDataDir : dir;
}

/**
 * This process's instance id: `SWITCHYARD_INSTANCE_ID` (set by `switchyard up`), or
 * `<service>-<pid>` when the service runs on its own.
 *
 * @example
 * ```ts
 * resolveInstanceId('inventory', {}, 4242); // 'inventory-4242'
 * ```
 */
export function resolveInstanceId(service: ShopService, env: ShopEnv, pid: number = process.pid): string {
  const id = env.SWITCHYARD_INSTANCE_ID?.trim();
  return id === undefined || id === '' ? `${service}-${pid}` : id;
}

/** The payment limit used when `PAYMENTS_LIMIT` is unset or empty. */
export const defaultPaymentsLimit = 1000;

/**
 * The largest payment the payments service captures, from `PAYMENTS_LIMIT` (a number > 0;
 * unset or empty means {@link defaultPaymentsLimit}).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming `PAYMENTS_LIMIT` and the bad value
 * @example
 * ```ts
 * resolvePaymentsLimit({ PAYMENTS_LIMIT: '250' }); // 250
 * resolvePaymentsLimit({ PAYMENTS_LIMIT: 'lots' }); // throws: PAYMENTS_LIMIT: expected a number > 0, got "lots"
 * ```
 */
export function resolvePaymentsLimit(env: ShopEnv): number {
  const raw = env.PAYMENTS_LIMIT;
  if (raw === undefined || raw.trim() === '') return defaultPaymentsLimit;
  const limit = Number(raw.trim());
  if (!Number.isFinite(limit) || limit <= 0) {
    throw invalidConfig(
      [{ path: 'PAYMENTS_LIMIT', message: `expected a number > 0, got ${JSON.stringify(raw)}` }],
      'the environment',
    );
  }
  return limit;
}
