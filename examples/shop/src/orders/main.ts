/**
 * Entry point of the orders service, run by `switchyard up` as `node src/orders/main.ts`.
 * Environment: `PORT`, `SWITCHYARD_REGISTRY_URL`, `SWITCHYARD_INSTANCE_ID`, `SWITCHYARD_HOST`
 * (read by `startService`), `SWITCHYARD_DATA_DIR`, and the `ORDERS_*` settings of
 * `resolveOrdersSettings` (lease, poll, response wait, step timeout, public path).
 *
 * Besides `orders.sqlite` (orders, outbox, call log) it opens the saga store every orders
 * instance shares (`SWITCHYARD_SAGA_STORE`: `sqlite:` or `postgres://`; default
 * `<dataDir>/orders-sagas.sqlite`) and the event bus shared with inventory and payments
 * (`SWITCHYARD_EVENT_BUS`: `sqlite:`, `nats://` or `amqp://`; default `<dataDir>/bus.sqlite`).
 * The outbox stays in `orders.sqlite`, in the same transaction as the order; its relay publishes
 * to whichever bus that is. Inventory and payments are discovered in the registry of
 * `SWITCHYARD_REGISTRY_URL` (the Consul API, or etcd). With the `SWITCHYARD_TLS_*` variables of
 * `switchyard up`'s `mtls:`, it serves HTTPS and calls them over mutual TLS as `orders`.
 */
import { openDiscoverySource, openEventBus, openSagaStore } from '@switchyard/backends';
import { createHttpClient, type InstanceSource } from '@switchyard/client';
import { createDiscoveryClient } from '@switchyard/discovery';
import { resolveOrdersSettings } from '../options.ts';
import { runShopService } from '../run-service.ts';
import { staticSource } from '../static-source.ts';
import { createOrdersApp } from './app.ts';

await runShopService('orders', async (db, { env, dataDir, instanceId, backends, identity }) => {
  const settings = resolveOrdersSettings(env);
  const discovery =
    settings.registryUrl === undefined
      ? undefined
      : createDiscoveryClient({
          source: await openDiscoverySource(settings.registryUrl, { field: 'SWITCHYARD_REGISTRY_URL' }),
        });
  const source: InstanceSource = discovery ?? staticSource(settings.staticUrls);
  // Under `switchyard up` with `mtls:` on, inventory and payments serve HTTPS and accept only
  // allowed callers: the client presents this instance's certificate.
  const client = createHttpClient({
    discovery: source,
    timeout: settings.stepTimeout,
    ...(identity === undefined ? {} : { mtls: { identity } }),
  });
  const sagaStore = await openSagaStore(backends.sagaStore, { baseDir: dataDir, field: 'SWITCHYARD_SAGA_STORE' });
  const bus = await openEventBus(backends.eventBus, { baseDir: dataDir, field: 'SWITCHYARD_EVENT_BUS' });
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
