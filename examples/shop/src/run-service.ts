import type { IncomingMessage } from 'node:http';
import type { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { openRegistryBackend } from '@switchyard/backends';
import type { WorkloadIdentitySource } from '@switchyard/core';
import type { RegistryBackend } from '@switchyard/discovery';
import { type EnvMtls, serviceMtlsFromEnv, startService } from '@switchyard/service';
import { openServiceDatabase } from './database.ts';
import { toNodeHandler } from './http/node-handler.ts';
import type { App, AsyncApp } from './http/types.ts';
import {
  resolveDataDir,
  resolveInstanceId,
  resolveShopBackends,
  resolveShopTelemetry,
  type ShopBackends,
  type ShopEnv,
  type ShopService,
} from './options.ts';
import { type ShopTelemetry, startShopTelemetry } from './shop-telemetry.ts';

/** What a service's entry point knows when it builds its app. */
export interface ShopServiceContext {
  /** This instance's id (`SWITCHYARD_INSTANCE_ID`, or `<service>-<pid>`). */
  readonly instanceId: string;
  readonly env: ShopEnv;
  /** The directory of the services' SQLite files (`SWITCHYARD_DATA_DIR`), as a path. */
  readonly dataDir: string;
  /** The saga store and event bus URLs to open (`@switchyard/backends`), and the registry. */
  readonly backends: ShopBackends;
  /**
   * This instance's workload certificate when `switchyard up` runs with `mtls:` on (read from
   * the `SWITCHYARD_TLS_*` files and followed across renewals), otherwise `undefined`. Give it
   * to HTTP clients, `createHttpClient({ mtls: { identity } })`, so calls to other services
   * present it; the service itself serves HTTPS with it.
   */
  readonly identity: WorkloadIdentitySource | undefined;
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
 * registers (with the registry of `SWITCHYARD_REGISTRY_URL`: the Consul API, or etcd opened
 * through `@switchyard/backends`), serves `/health` and on SIGTERM/SIGINT drains, deregisters, closes the database
 * and exits 0 (after the setup's `close`). A failure to start (a bad environment variable, a database that will not
 * open, a registry that refuses) is printed as one line and the process exits 1.
 *
 * Under `switchyard up` with `mtls:` on, the instance's certificate files are read once
 * (`serviceMtlsFromEnv`): the service serves HTTPS and accepts only callers with a certificate
 * of an allowed service, and `build` gets the same identity (`context.identity`) for the
 * clients it makes. Without those variables the service serves plain HTTP.
 *
 * With an OTLP endpoint in the environment (`OTEL_EXPORTER_OTLP_ENDPOINT`, passed by `switchyard
 * up` when its config has a `telemetry:` section) or `SHOP_TELEMETRY=on`, telemetry is set up
 * first, before `build` creates the engine, bus and client, so every span they make is
 * recorded: each request gets a server span named by its route template (`POST /reservations`),
 * `/metrics` serves the RED metrics, and the last spans are flushed on shutdown.
 *
 * @example
 * ```ts
 * await runShopService('orders', (db) => ({ app: createOrdersApp(db) }));
 * ```
 */
export async function runShopService(
  service: ShopService,
  build: (db: DatabaseSync, context: ShopServiceContext) => ShopServiceSetup | Promise<ShopServiceSetup>,
  env: ShopEnv = process.env,
): Promise<void> {
  let db: DatabaseSync | undefined;
  let setup: ShopServiceSetup | undefined;
  let telemetry: ShopTelemetry | undefined;
  let registry: RegistryBackend | undefined;
  let mtls: EnvMtls | undefined;
  try {
    const instanceId = resolveInstanceId(service, env);
    const telemetrySettings = resolveShopTelemetry(env);
    if (telemetrySettings !== undefined) telemetry = startShopTelemetry(service, instanceId, telemetrySettings, env);
    const dir = resolveDataDir(env);
    const dataDir = typeof dir === 'string' ? dir : fileURLToPath(dir);
    const database = openServiceDatabase(service, dataDir);
    db = database;
    const backends = resolveShopBackends(env, dataDir);
    // One reader of the certificate files for the server and the clients `build` makes.
    mtls = await serviceMtlsFromEnv(env);
    // A registry startService cannot reach by itself (etcd://) is opened here and passed in.
    if (backends.registry !== undefined) {
      registry = await openRegistryBackend(backends.registry, { field: 'SWITCHYARD_REGISTRY_URL' });
    }
    setup = await build(database, { instanceId, env, dataDir, backends, identity: mtls?.identity });
    const { app, responseHeaders, start, close } = setup;
    await start?.();
    const handler = toNodeHandler(app, responseHeaders === undefined ? {} : { responseHeaders });
    // The id is passed on so the registry and X-Instance-Id name the instance alike.
    await startService({
      name: service,
      id: instanceId,
      handler,
      ...(registry === undefined ? {} : { registrationClient: registry }),
      ...(mtls === undefined ? {} : { mtls }),
      ...(telemetry === undefined ? {} : { routeOf: (req: IncomingMessage) => routeOf(app, req) }),
      onClose: async () => {
        try {
          await close?.();
        } finally {
          if (database.isOpen) database.close();
          // Deregistered already; closing also revokes an etcd lease.
          await registry?.close();
          mtls?.identity.close();
          // Last: the spans of the final requests and of the shutdown itself are flushed.
          await telemetry?.close();
        }
      },
    });
  } catch (err) {
    await setup?.close?.().catch(() => {});
    await registry?.close().catch(() => {});
    mtls?.identity.close();
    if (db?.isOpen) db.close();
    await telemetry?.close();
    console.error(`${service}: failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

/** The route template of a request (`/reservations/:id`), for span names and metric labels. */
function routeOf(app: App | AsyncApp, req: IncomingMessage): string | undefined {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  return app.routeOf?.(req.method ?? 'GET', queryAt === -1 ? url : url.slice(0, queryAt));
}
