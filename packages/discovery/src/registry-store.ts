/**
 * The port through which the embedded registry persists registrations, so they survive a restart.
 * The registry writes through it synchronously before it changes its in-memory state, so a failed
 * write leaves both the stored and the served state as they were. This file is a leaf.
 */
import type { HealthStatus } from '@switchyard/core';

/** A stored service instance: its registration without checks, in Consul's casing. */
export interface StoredService {
  readonly id: string;
  /** `{ ID, Name, Tags, Meta, Address, Port, Weights }`, as `PUT /v1/agent/service/register` takes it. */
  readonly registration: Readonly<Record<string, unknown>>;
}

/** A stored check: its definition, and for TTL checks the last status reported. */
export interface StoredCheck {
  readonly checkId: string;
  /** The owning instance, or `''` for a node-level check. */
  readonly serviceId: string;
  /** The check in Consul's casing (`CheckID`, `Name`, `TTL`, `HTTP`, `Interval`, ...). */
  readonly definition: Readonly<Record<string, unknown>>;
  /** Last status of a TTL check, restored on load; `undefined` for HTTP and TCP checks. */
  readonly status?: HealthStatus | undefined;
  readonly output?: string | undefined;
}

/** Everything a store holds, as {@link RegistryStore.load} returns it. */
export interface RegistrySnapshot {
  readonly services: readonly StoredService[];
  /** Ordered by service, then registration order. */
  readonly checks: readonly StoredCheck[];
  /** The last index saved with {@link RegistryStore.saveIndex}; 0 when none was. */
  readonly index: number;
}

/**
 * Durable storage for registrations. Every method is synchronous and atomic: it either stores the
 * whole change or throws and stores nothing.
 */
export interface RegistryStore {
  /** Where the data lives (a file path), for error messages. */
  readonly location: string;
  /**
   * Reads everything stored.
   *
   * @throws SwitchyardError `SY_DISCOVERY_STORE_FAILED` when the data cannot be read or is corrupt
   */
  load(): RegistrySnapshot;
  /** Stores `service` and replaces all its checks with `checks`. */
  putService(service: StoredService, checks: readonly StoredCheck[]): void;
  /** Removes a service and its checks. */
  deleteService(serviceId: string): void;
  /** Adds or replaces one check. */
  putCheck(check: StoredCheck): void;
  /** Removes one check. */
  deleteCheck(checkId: string): void;
  /** Records a TTL check's latest status and output. */
  setCheckState(checkId: string, status: HealthStatus, output: string): void;
  /**
   * Records a floor for the registry's change index, so that indexes keep growing across restarts
   * (Consul clients treat an index that goes backwards as a reset).
   */
  saveIndex(index: number): void;
  /** Releases the store; idempotent. */
  close(): void;
}
