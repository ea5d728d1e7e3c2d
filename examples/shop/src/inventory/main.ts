/**
 * Entry point of the inventory service, run by `switchyard up` as `node src/inventory/main.ts`.
 * Environment: `PORT`, `SWITCHYARD_REGISTRY_URL`, `SWITCHYARD_INSTANCE_ID`, `SWITCHYARD_HOST`
 * (read by `startService`) and `SWITCHYARD_DATA_DIR`. Instances share one database file.
 */
import { runShopService } from '../run-service.ts';
import { createInventoryApp, instanceIdHeader } from './app.ts';

await runShopService('inventory', (db, { instanceId }) => ({
  app: createInventoryApp(db, { instanceId }),
  // The app stamps its own answers; this also covers the adapter's 413/415/400 answers.
  responseHeaders: { [instanceIdHeader]: instanceId },
}));
