/**
 * Entry point of the inventory service, run by `switchyard up` as `node src/inventory/main.ts`.
 * Environment: `PORT`, `SWITCHYARD_REGISTRY_URL`, `SWITCHYARD_INSTANCE_ID`, `SWITCHYARD_HOST`
 * (read by `startService`), `SWITCHYARD_DATA_DIR` and `SWITCHYARD_EVENT_BUS` (default
 * `sqlite:<dataDir>/bus.sqlite`). Instances share one database file, and each is a member of
 * the bus group `inventory`, which commits approved orders' reservations.
 */
import { openEventBus } from '@switchyard/backends';
import type { Subscription } from '@switchyard/saga';
import { runShopService } from '../run-service.ts';
import { createInventoryApp, instanceIdHeader } from './app.ts';
import { subscribeCommitOnApproval } from './order-approved.ts';

await runShopService('inventory', async (db, { instanceId, dataDir, backends }) => {
  const app = createInventoryApp(db, { instanceId });
  const bus = await openEventBus(backends.eventBus, { baseDir: dataDir, field: 'SWITCHYARD_EVENT_BUS' });
  let subscription: Subscription | undefined;
  return {
    app,
    // The app stamps its own answers; this also covers the adapter's 413/415/400 answers.
    responseHeaders: { [instanceIdHeader]: instanceId },
    start: async () => {
      subscription = await subscribeCommitOnApproval(bus, db);
    },
    close: async () => {
      await subscription?.close();
      await bus.close();
    },
  };
});
