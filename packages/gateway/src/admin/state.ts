import type { HttpClient } from '@switchyard/client';
import type { InstanceStats, OutlierDetector } from '@switchyard/discovery';
import type { GatewayOptions, ResolvedGatewayOptions } from '../options.ts';
import type { InstanceSource } from '../ports.ts';
import type { TrafficControl } from '../traffic/control.ts';

/** The services shared by every config the gateway loads, as the admin API reads them. */
export interface GatewaySharedServices {
  /** Where route services' instances come from. */
  readonly discovery: InstanceSource;
  /** The upstream client; `client.breakers` holds one breaker per service. */
  readonly client: HttpClient;
  /** Per-instance statistics (in flight, latency, consecutive failures, ejection). */
  readonly stats: InstanceStats;
  readonly outliers: OutlierDetector;
}

/** What the admin API reads from, and reloads, a gateway request handler. */
export interface GatewayState {
  /** The config in use. */
  readonly options: ResolvedGatewayOptions;
  /** 1 for the config the gateway started with, one more per successful reload. */
  readonly configVersion: number;
  /** When the config in use was loaded. */
  readonly loadedAt: Date;
  /** `close()` was called: in-flight requests are finishing, new ones are refused. */
  readonly draining: boolean;
  readonly services: GatewaySharedServices;
  /** Reads the config again, for `POST /admin/reload`; absent when the embedder gave none. */
  readonly loadConfig?: () => GatewayOptions | Promise<GatewayOptions>;
  /** Split overrides of routes with subsets; absent for states that have none. */
  readonly traffic?: TrafficControl;
  reload(options: GatewayOptions): void;
}
