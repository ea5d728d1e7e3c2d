import type { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { startService } from '@switchyard/service';
import { openServiceDatabase } from './database.ts';
import { toNodeHandler } from './http/node-handler.ts';
import type { App, AsyncApp } from './http/types.ts';
import { resolveDataDir, resolveInstanceId, type ShopEnv, type ShopService } from './options.ts';

/** What a service's entry point knows when it builds its app. */
export interface ShopServiceContext {
  /** This instance's id (`SWITCHYARD_INSTANCE_ID`, or `<service>-<pid>`). */
  readonly instanceId: string;
  readonly env: ShopEnv;
  /** The directory of the services' SQLite files (`SWITCHYARD_DATA_DIR`), as a path. */
  readonly dataDir: string;
}

/** What a service's entry point builds: the app, and headers for every response. */
export interface ShopServiceSetup {
  readonly app: App | AsyncApp;
  /**
   * Runs before the service listens and registers: start background work here (a saga
   * engine recovering unfinished sagas, bus subscriptions, an outbox relay). A rejection
   * fails the start.
   */
  readonly start?: () => Promise<void>;
  /**
   * Runs on shutdown, after the server drained and the instance was deregistered, before the
   * database closes: stop the background work started by `start`.
   */
  readonly close?: () => Promise<void>;
  /** Added to every response, the adapter's own errors (413, 415, malformed JSON) included. */
  readonly responseHeaders?: Record<string, string>;
}

/**
 * The body of each `src/<service>/main.ts`: opens `<dataDir>/<service>.sqlite` (shared by all
 * instances of the service), builds the app, and hands it to `startService`, which listens,
 * registers, serves `/health` and on SIGTERM/SIGINT drains, deregisters, closes the database
 * and exits 0 (after the setup's `close`). A failure to start (a bad environment variable, a database that will not
 * open, a registry that refuses) is printed as one line and the process exits 1.
 *
 * @example
 * ```ts
 * await runShopService('orders', (db) => ({ app: createOrdersApp(db) }));
 * ```
 */
export async function runShopService(
  service: ShopService,
  build: (db: DatabaseSync, context: ShopServiceContext) => ShopServiceSetup,
  env: ShopEnv = process.env,
): Promise<void> {
  let db: DatabaseSync | undefined;
  let setup: ShopServiceSetup | undefined;
  try {
    const instanceId = resolveInstanceId(service, env);
    const dir = resolveDataDir(env);
    const dataDir = typeof dir === 'string' ? dir : fileURLToPath(dir);
    const database = openServiceDatabase(service, dataDir);
    db = database;
    setup = build(database, { instanceId, env, dataDir });
    const { app, responseHeaders, start, close } = setup;
    await start?.();
    const handler = toNodeHandler(app, responseHeaders === undefined ? {} : { responseHeaders });
    // The id is passed on so the registry and X-Instance-Id name the instance alike.
    await startService({
      name: service,
      id: instanceId,
      handler,
      onClose: async () => {
        try {
          await close?.();
        } finally {
          if (database.isOpen) database.close();
        }
      },
    });
  } catch (err) {
    await setup?.close?.().catch(() => {});
    if (db?.isOpen) db.close();
    console.error(`${service}: failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
