import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { userInfo } from 'node:os';
import { openSagaStore } from '@switchyard/backends';
import { secretEquals } from '@switchyard/core';
import { dashboardAssetsDir } from '@switchyard/dashboard';
import { type AdminHandler, createAdminAuth } from '@switchyard/gateway';
import { createSagaOperator, type SagaStore } from '@switchyard/saga';
import type { SpanStore } from '@switchyard/telemetry';
import type { SwitchyardConfig } from '../config-schema.ts';
import type { RedRecorder } from './red-recorder.ts';
import type { SupervisedInstance, SystemAdminInput, SystemService } from './system-admin.ts';
import { startSystemAdmin } from './system-admin.ts';

/** What `switchyard up` hands its admin API. */
export interface UpAdminInput {
  readonly config: SwitchyardConfig;
  readonly dataDir: string;
  readonly gatewayUrl: string;
  readonly registryUrl: string;
  readonly startedAt: number;
  /** The gateway's admin endpoints. */
  readonly gateway: AdminHandler;
  readonly services: () => readonly SystemService[] | Promise<readonly SystemService[]>;
  readonly supervisor?: (instanceId: string) => SupervisedInstance | undefined;
  readonly red?: RedRecorder | undefined;
  /** `up`'s span store (embedded tracing); traces are off without one. */
  readonly spanStore?: SpanStore | undefined;
  /** Overrides the check of `config.admin.auth`'s tokens. */
  readonly authorize?: SystemAdminInput['authorize'];
  readonly log: (line: string) => void;
}

/** The running admin API of `up`, with what the instances need to export their spans to it. */
export interface UpAdmin {
  readonly url: string;
  /**
   * `OTEL_EXPORTER_OTLP_ENDPOINT=<admin url>` when `up` keeps traces itself (the embedded
   * default: no `telemetry.otlp`, and no `OTEL_EXPORTER_OTLP_ENDPOINT` a `telemetry:` section
   * would use); empty otherwise.
   */
  readonly childEnv: Readonly<Record<string, string>>;
  /** Closes the admin API, then the saga store. */
  close(): Promise<void>;
}

/**
 * Starts the admin API of `switchyard up` on `config.admin`: opens the saga store of
 * `config.sagas` (relative SQLite paths against the data directory) for the saga endpoints,
 * serves the dashboard's assets, and checks `admin.auth` tokens (unless `authorize` is given).
 *
 * @throws SwitchyardError `SY_CLI_ADMIN_LISTEN_FAILED`, `SY_CONFIG_INVALID` (a bad `sagas.store`),
 *   `SY_ADAPTER_MISSING`
 * @example
 * ```ts
 * const admin = await startUpAdmin({ config, dataDir, gatewayUrl, registryUrl, startedAt, gateway: gateway.admin, services, log });
 * ```
 */
export async function startUpAdmin(input: UpAdminInput): Promise<UpAdmin | undefined> {
  const { config } = input;
  if (config.admin === false) return undefined;
  const { auth } = config.admin;
  const tokens = auth === undefined ? undefined : createAdminAuth(auth);
  // A `telemetry:` section exports to `otlp.endpoint`, else to OTEL_EXPORTER_OTLP_ENDPOINT of
  // `up`'s environment; the instances follow it there. Otherwise they export here.
  const exportsElsewhere =
    config.telemetry !== undefined &&
    (config.telemetry.otlp !== undefined || Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()));
  const embeddedTraces = input.spanStore !== undefined && !exportsElsewhere;
  // With tokens, the instances export with a token of their own that opens `POST /v1/traces` and
  // nothing else, so no service holds an admin token.
  const ingestToken = tokens !== undefined && embeddedTraces ? randomBytes(32).toString('base64url') : undefined;
  const authorize: SystemAdminInput['authorize'] =
    input.authorize ??
    (tokens === undefined
      ? undefined
      : (req, scope) =>
          ingestToken !== undefined && isTraceIngest(req, ingestToken) ? { ok: true } : tokens.authorize(req, scope));
  let store: SagaStore | undefined;
  if (config.sagas !== undefined) store = await openSagaStore(config.sagas.store, { baseDir: input.dataDir });
  try {
    // The services create the schema; init here too, so the admin API works before they first run.
    await store?.init();
    const admin = await startSystemAdmin({
      host: config.admin.host,
      port: config.admin.port,
      name: config.name,
      gatewayUrl: input.gatewayUrl,
      registryUrl: input.registryUrl,
      startedAt: input.startedAt,
      services: input.services,
      gateway: input.gateway,
      assetsDir: dashboardAssetsDir,
      log: input.log,
      ...(input.supervisor === undefined ? {} : { supervisor: input.supervisor }),
      ...(input.red === undefined ? {} : { red: input.red }),
      ...(input.spanStore === undefined ? {} : { spanStore: input.spanStore }),
      ...(authorize === undefined ? {} : { authorize }),
      ...(store === undefined ? {} : { sagas: createSagaOperator(store, { actor: `admin:${actorName()}` }) }),
    });
    return {
      url: admin.url,
      childEnv: embeddedTraces
        ? {
            OTEL_EXPORTER_OTLP_ENDPOINT: admin.url,
            // OpenTelemetry's header list: comma-separated key=value, values percent-encoded.
            ...(ingestToken === undefined
              ? {}
              : { OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${ingestToken}` }),
          }
        : {},
      async close() {
        await admin.close();
        await store?.close();
      },
    };
  } catch (err) {
    await store?.close();
    throw err;
  }
}

function actorName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Whether `req` is an OTLP export (`POST /v1/traces`) carrying the instances' ingest token. */
function isTraceIngest(req: IncomingMessage, token: string): boolean {
  if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/v1/traces') return false;
  const header = req.headers.authorization ?? '';
  const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  return presented !== '' && secretEquals(presented, token);
}
