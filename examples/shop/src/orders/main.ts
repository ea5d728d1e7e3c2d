/**
 * Entry point of the orders service, run by `switchyard up` as `node src/orders/main.ts`.
 * Environment: `PORT`, `SWITCHYARD_REGISTRY_URL`, `SWITCHYARD_INSTANCE_ID`, `SWITCHYARD_HOST`
 * (read by `startService`) and `SWITCHYARD_DATA_DIR`.
 */
import { runShopService } from '../run-service.ts';
import { createOrdersApp } from './app.ts';

await runShopService('orders', (db) => ({ app: createOrdersApp(db) }));
