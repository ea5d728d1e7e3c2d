/**
 * Entry point of the payments service, run by `switchyard up` as `node src/payments/main.ts`.
 * Environment: `PORT`, `SWITCHYARD_REGISTRY_URL`, `SWITCHYARD_INSTANCE_ID`, `SWITCHYARD_HOST`
 * (read by `startService`), `SWITCHYARD_DATA_DIR` and `PAYMENTS_LIMIT` (default 1000; an
 * invalid value stops the process with a message naming it). It is the bus group
 * `notifications`, which records a receipt for every approved order.
 */
import { join } from 'node:path';
import { createSqliteEventBus, type Subscription } from '@switchyard/saga';
import { busFileName } from '../events.ts';
import { resolvePaymentsLimit } from '../options.ts';
import { runShopService } from '../run-service.ts';
import { createPaymentsApp } from './app.ts';
import { subscribeReceipts } from './notifications.ts';

await runShopService('payments', (db, { env, dataDir }) => {
  const app = createPaymentsApp(db, { limit: resolvePaymentsLimit(env) });
  const bus = createSqliteEventBus({ path: join(dataDir, busFileName) });
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
