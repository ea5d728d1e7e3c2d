/**
 * Opens the saga store a URL names: `sqlite:<file>` (the embedded default, `node:sqlite`) or
 * `postgres://...[?schema=name]` (`@switchyard/adapter-postgres`, loaded only when named; the
 * tables live in `schema`, default `switchyard`, created by the store's `init()`).
 */
import { createSqliteSagaStore, type SagaStore } from '@switchyard/saga';
import { checkAdapterOptions, parseBackendUrl, takeUrlParams } from './backend-url.ts';

/** Options of {@link openSagaStore}. */
export interface OpenSagaStoreOptions {
  /** What a relative `sqlite:` path is relative to (usually the data directory). @default process.cwd() */
  readonly baseDir?: string;
  /** The config path named in errors. @default "sagas.store" */
  readonly field?: string;
}

/**
 * Opens (does not initialise) the saga store `url` names. The caller closes it.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming `field` for an unknown scheme or bad URL
 * @example
 * ```ts
 * const store = await openSagaStore('sqlite:orders-sagas.sqlite', { baseDir: dataDir });
 * // or: await openSagaStore('postgres://app@db:5432/shop?schema=sagas');
 * const engine = createSagaEngine({ store, sagas: [orderSaga] });
 * ```
 */
export async function openSagaStore(url: string, options: OpenSagaStoreOptions = {}): Promise<SagaStore> {
  const field = options.field ?? 'sagas.store';
  const { scheme, target } = parseBackendUrl(url, ['sqlite', 'postgres'], field, options.baseDir ?? process.cwd());
  if (scheme === 'sqlite') return createSqliteSagaStore({ path: target });
  const { url: driverUrl, params } = takeUrlParams(target, ['schema'], field);
  const { createPostgresSagaStore, resolvePostgresSagaStoreOptions } = await import('@switchyard/adapter-postgres');
  const storeOptions = { url: driverUrl, ...(params.schema === undefined ? {} : { schema: params.schema }) };
  // Validated here so a bad URL or ?schema= names the config field, not the adapter's option.
  checkAdapterOptions(() => resolvePostgresSagaStoreOptions(storeOptions, field), field, 'url');
  return createPostgresSagaStore(storeOptions);
}
