/**
 * Entry point of the orders service, run by `switchyard up` as `node src/orders/main.ts`.
 * Environment: `PORT`, `SWITCHYARD_REGISTRY_URL`, `SWITCHYARD_INSTANCE_ID`, `SWITCHYARD_HOST`
 * (read by `startService`), `SWITCHYARD_DATA_DIR`, and the `ORDERS_*` settings of
 * `resolveOrdersSettings` (lease, poll, response wait, step timeout, public path).
 *
 * Besides `orders.sqlite` (orders, outbox, call log) it opens, in the data directory,
 * `orders-sagas.sqlite` (the saga store every orders instance shares) and `bus.sqlite` (the
 * event log shared with inventory and payments).
 */
import { join } from 'node:path';
import { createHttpClient, type InstanceSource } from '@switchyard/client';
import { consulSource, createDiscoveryClient } from '@switchyard/discovery';
import { createSqliteEventBus, createSqliteSagaStore } from '@switchyard/saga';
import { busFileName } from '../events.ts';
import { resolveOrdersSettings } from '../options.ts';
import { runShopService } from '../run-service.ts';
import { staticSource } from '../static-source.ts';
import { createOrdersApp } from './app.ts';

await runShopService('orders', (db, { env, dataDir, instanceId }) => {
  const settings = resolveOrdersSettings(env);
  const discovery =
    settings.registryUrl === undefined
      ? undefined
      : createDiscoveryClient({ source: consulSource({ url: settings.registryUrl }) });
  const source: InstanceSource = discovery ?? staticSource(settings.staticUrls);
  const client = createHttpClient({ discovery: source, timeout: settings.stepTimeout });
  const sagaStore = createSqliteSagaStore({ path: join(dataDir, 'orders-sagas.sqlite') });
  const bus = createSqliteEventBus({ path: join(dataDir, busFileName) });
  const app = createOrdersApp(db, {
    sagaStore,
    client,
    bus,
    engine: {
      owner: `${instanceId}:${process.pid}`,
      leaseDuration: settings.leaseDuration,
      pollInterval: settings.pollInterval,
      // An undo that cannot reach its service is retried for a few minutes, then the saga parks.
      compensation: { maxAttempts: 30, backoff: { initial: '200ms', max: '10s', factor: 2, jitter: 'full' } },
    },
    responseWait: settings.responseWait,
    stepTimeout: settings.stepTimeout,
    publicPath: settings.publicPath,
  });
  return {
    app,
    start: () => app.start(),
    close: async () => {
      await app.close();
      await client.close();
      await discovery?.close();
      await bus.close();
      await sagaStore.close();
    },
  };
});
