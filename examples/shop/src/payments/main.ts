/**
 * Entry point of the payments service, run by `switchyard up` as `node src/payments/main.ts`.
 * Environment: `PORT`, `SWITCHYARD_REGISTRY_URL`, `SWITCHYARD_INSTANCE_ID`, `SWITCHYARD_HOST`
 * (read by `startService`), `SWITCHYARD_DATA_DIR`, `SWITCHYARD_EVENT_BUS` (default
 * `sqlite:<dataDir>/bus.sqlite`) and `PAYMENTS_LIMIT` (default 1000; an
 * invalid value stops the process with a message naming it). It is the bus group
 * `notifications`, which records a receipt for every approved order.
 */
import { openEventBus } from '@switchyard/backends';
import type { Subscription } from '@switchyard/saga';
import { resolvePaymentsLimit } from '../options.ts';
import { runShopService } from '../run-service.ts';
import { createPaymentsApp } from './app.ts';
import { subscribeReceipts } from './notifications.ts';

await runShopService('payments', async (db, { env, dataDir, backends }) => {
  const app = createPaymentsApp(db, { limit: resolvePaymentsLimit(env) });
  const bus = await openEventBus(backends.eventBus, { baseDir: dataDir, field: 'SWITCHYARD_EVENT_BUS' });
  let subscription: Subscription | undefined;
  return {
    app,
    start: async () => {
      subscription = await subscribeReceipts(bus, db);
    },
    close: async () => {
      await subscription?.close();
      await bus.close();
    },
  };
});
