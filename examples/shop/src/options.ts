import { join } from 'node:path';
import { invalidConfig, resolveOptions } from '@switchyard/core';
import * as z from 'zod';
import { busFileName } from './events.ts';

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

/** The orders service's settings, read from its environment by {@link resolveOrdersSettings}. */
export interface OrdersSettings {
  /** `SWITCHYARD_REGISTRY_URL`: where inventory and payments are discovered. */
  readonly registryUrl: string | undefined;
  /** `SHOP_INVENTORY_URL` / `SHOP_PAYMENTS_URL`: fixed addresses used when there is no registry. */
  readonly staticUrls: Readonly<Record<string, string>>;
  /** `ORDERS_SAGA_LEASE`: how long a dead instance's sagas stay leased before another takes them. @default "10s" */
  readonly leaseDuration: string;
  /** `ORDERS_SAGA_POLL`: how often the engine looks for sagas to take over. @default "1s" */
  readonly pollInterval: string;
  /** `ORDERS_RESPONSE_WAIT`: how long `POST /orders` waits for the saga before a 202. @default "2s" */
  readonly responseWait: string;
  /** `ORDERS_STEP_TIMEOUT`: each call to inventory or payments may take this long. @default "5s" */
  readonly stepTimeout: string;
  /** `ORDERS_PUBLIC_PATH`: the orders collection's public path, for `Location`. @default "/api/orders" */
  readonly publicPath: string;
}

const durationSettings = {
  ORDERS_SAGA_LEASE: '10s',
  ORDERS_SAGA_POLL: '1s',
  ORDERS_RESPONSE_WAIT: '2s',
  ORDERS_STEP_TIMEOUT: '5s',
} as const;

/**
 * Reads the orders service's settings from its environment; empty variables mean the default.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the variable (`ORDERS_SAGA_LEASE: expected a duration such as "10s", got "soon"`),
 *   or naming `SWITCHYARD_REGISTRY_URL` when neither a registry nor both fixed URLs are set
 * @example
 * ```ts
 * resolveOrdersSettings({ SWITCHYARD_REGISTRY_URL: 'http://127.0.0.1:8500', ORDERS_SAGA_LEASE: '3s' }).leaseDuration; // '3s'
 * ```
 */
export function resolveOrdersSettings(env: ShopEnv): OrdersSettings {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const durations: Record<string, string> = {};
  for (const [name, fallback] of Object.entries(durationSettings)) {
    const value = read(name) ?? fallback;
    if (!/^\d+(\.\d+)?(ms|s|m|h)$/.test(value)) {
      throw invalidConfig(
        [{ path: name, message: `expected a duration such as "10s" or "500ms", got ${JSON.stringify(value)}` }],
        'the environment',
      );
    }
    durations[name] = value;
  }
  const registryUrl = read('SWITCHYARD_REGISTRY_URL');
  const staticUrls: Record<string, string> = {};
  const inventoryUrl = read('SHOP_INVENTORY_URL');
  const paymentsUrl = read('SHOP_PAYMENTS_URL');
  if (inventoryUrl !== undefined) staticUrls.inventory = inventoryUrl;
  if (paymentsUrl !== undefined) staticUrls.payments = paymentsUrl;
  if (registryUrl === undefined && (inventoryUrl === undefined || paymentsUrl === undefined)) {
    throw invalidConfig(
      [
        {
          path: 'SWITCHYARD_REGISTRY_URL',
          message:
            'orders calls inventory and payments: set the registry URL, or both SHOP_INVENTORY_URL and SHOP_PAYMENTS_URL',
        },
      ],
      'the environment',
    );
  }
  return {
    registryUrl,
    staticUrls,
    leaseDuration: durations.ORDERS_SAGA_LEASE as string,
    pollInterval: durations.ORDERS_SAGA_POLL as string,
    responseWait: durations.ORDERS_RESPONSE_WAIT as string,
    stepTimeout: durations.ORDERS_STEP_TIMEOUT as string,
    publicPath: read('ORDERS_PUBLIC_PATH') ?? '/api/orders',
  };
}

/** Whether and how a shop service sets up telemetry; see {@link resolveShopTelemetry}. */
export interface ShopTelemetrySettings {
  /** An OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). */
  readonly otlp: boolean;
  /** `OTEL_BSP_SCHEDULE_DELAY`: milliseconds between scheduled exports, when set. @default 5000 (the telemetry package's) */
  readonly scheduledDelayMs: number | undefined;
}

/**
 * Whether a shop service sets up tracing and metrics, from its environment: `SHOP_TELEMETRY`
 * (`on` or `off`) decides when set; unset or empty, telemetry is on exactly when an OTLP
 * endpoint is (`OTEL_EXPORTER_OTLP_ENDPOINT`, which `switchyard up` passes with a `telemetry:`
 * section, or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). Returns undefined when it is off.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming `SHOP_TELEMETRY` or `OTEL_BSP_SCHEDULE_DELAY` and the bad value
 * @example
 * ```ts
 * resolveShopTelemetry({}); // undefined: off
 * resolveShopTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }); // { otlp: true, scheduledDelayMs: undefined }
 * resolveShopTelemetry({ SHOP_TELEMETRY: 'on' }); // { otlp: false, ... }: metrics and spans, no export
 * ```
 */
export function resolveShopTelemetry(env: ShopEnv): ShopTelemetrySettings | undefined {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const otlp =
    read('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined || read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined;
  const mode = read('SHOP_TELEMETRY')?.toLowerCase();
  if (mode !== undefined && mode !== 'on' && mode !== 'off') {
    throw invalidConfig(
      [{ path: 'SHOP_TELEMETRY', message: `expected "on" or "off", got ${JSON.stringify(env.SHOP_TELEMETRY)}` }],
      'the environment',
    );
  }
  const delay = read('OTEL_BSP_SCHEDULE_DELAY');
  const scheduledDelayMs = delay === undefined ? undefined : Number(delay);
  if (scheduledDelayMs !== undefined && !(Number.isInteger(scheduledDelayMs) && scheduledDelayMs >= 0)) {
    throw invalidConfig(
      [
        {
          path: 'OTEL_BSP_SCHEDULE_DELAY',
          message: `expected an integer number of milliseconds >= 0, got ${JSON.stringify(delay)}`,
        },
      ],
      'the environment',
    );
  }
  if (mode === 'off' || (mode === undefined && !otlp)) return undefined;
  return { otlp, scheduledDelayMs };
}

/** Where a shop service keeps sagas and exchanges events; see {@link resolveShopBackends}. */
export interface ShopBackends {
  /** `SWITCHYARD_SAGA_STORE`, else `sqlite:<dataDir>/orders-sagas.sqlite`. */
  readonly sagaStore: string;
  /** `SWITCHYARD_EVENT_BUS`, else `sqlite:<dataDir>/bus.sqlite`. */
  readonly eventBus: string;
  /**
   * `SWITCHYARD_REGISTRY_URL` when it names a registry `startService` cannot register with by
   * itself (`etcd://`): the service opens it with `@switchyard/backends`. Undefined for an
   * `http(s)://` registry (the Consul API) and when unset.
   */
  readonly registry: string | undefined;
}

/**
 * The backends a shop service opens, from the environment `switchyard up` sets
 * (`SWITCHYARD_SAGA_STORE`, `SWITCHYARD_EVENT_BUS` from `sagas.store` and `events.bus`,
 * `SWITCHYARD_REGISTRY_URL`), falling back to the SQLite files in the data directory.
 *
 * @example
 * ```ts
 * resolveShopBackends({ SWITCHYARD_EVENT_BUS: 'nats://127.0.0.1:4222' }, '/tmp/shop');
 * // { sagaStore: 'sqlite:/tmp/shop/orders-sagas.sqlite', eventBus: 'nats://127.0.0.1:4222', registry: undefined }
 * ```
 */
export function resolveShopBackends(env: ShopEnv, dataDir: string): ShopBackends {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const registry = read('SWITCHYARD_REGISTRY_URL');
  return {
    sagaStore: read('SWITCHYARD_SAGA_STORE') ?? `sqlite:${join(dataDir, 'orders-sagas.sqlite')}`,
    eventBus: read('SWITCHYARD_EVENT_BUS') ?? `sqlite:${join(dataDir, busFileName)}`,
    registry: registry === undefined || /^https?:\/\//i.test(registry) ? undefined : registry,
  };
}
