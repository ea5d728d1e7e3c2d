/**
 * Entry point of the payments service, run by `switchyard up` as `node src/payments/main.ts`.
 * Environment: `PORT`, `SWITCHYARD_REGISTRY_URL`, `SWITCHYARD_INSTANCE_ID`, `SWITCHYARD_HOST`
 * (read by `startService`), `SWITCHYARD_DATA_DIR` and `PAYMENTS_LIMIT` (default 1000; an
 * invalid value stops the process with a message naming it).
 */
import { resolvePaymentsLimit } from '../options.ts';
import { runShopService } from '../run-service.ts';
import { createPaymentsApp } from './app.ts';

await runShopService('payments', (db, { env }) => ({
  app: createPaymentsApp(db, { limit: resolvePaymentsLimit(env) }),
}));
