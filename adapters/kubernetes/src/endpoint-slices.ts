/**
 * EndpointSlices (discovery.k8s.io/v1) to Switchyard instances: pure functions, no I/O, so the
 * rules on readiness, ports and IDs are tested without a server.
 */
import type { ServiceInstance } from '@switchyard/core';
import type { AddressType } from './options.ts';

/** The fields of an EndpointSlice this adapter reads, in the API's JSON casing. */
export interface EndpointSlice {
  readonly metadata: { readonly name: string; readonly resourceVersion?: string };
  readonly addressType: string;
  /** `null` in the API means "all ports", which names no port to dial; such a slice gives no instance. */
  readonly ports?: readonly EndpointPort[] | null;
  readonly endpoints?: readonly SliceEndpoint[] | null;
}

/** One entry of an EndpointSlice's `ports`. */
export interface EndpointPort {
  readonly name?: string;
  readonly port?: number;
  readonly protocol?: string;
}

/** One entry of an EndpointSlice's `endpoints`. */
export interface SliceEndpoint {
  readonly addresses: readonly string[];
  readonly conditions?: { readonly ready?: boolean; readonly serving?: boolean; readonly terminating?: boolean };
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly targetRef?: { readonly kind?: string; readonly name?: string; readonly namespace?: string };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the parts of an EndpointSlice that the conversion relies on; anything else may be absent.
 *
 * @returns why it is not a slice, or `undefined` when it is one
 */
export function endpointSliceProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'expected an EndpointSlice object';
  const metadata = value.metadata;
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    return 'expected metadata.name';
  }
  if (typeof value.addressType !== 'string') return `EndpointSlice ${metadata.name}: expected addressType`;
  if (value.ports != null && !Array.isArray(value.ports)) return `EndpointSlice ${metadata.name}: expected ports[]`;
  if (value.endpoints != null) {
    if (!Array.isArray(value.endpoints)) return `EndpointSlice ${metadata.name}: expected endpoints[]`;
    for (const [i, endpoint] of value.endpoints.entries()) {
      if (!isRecord(endpoint) || !Array.isArray(endpoint.addresses)) {
        return `EndpointSlice ${metadata.name}: expected endpoints[${i}].addresses`;
      }
    }
  }
  return undefined;
}

/** The slice's port chosen by `wanted` (a name or number; the first port when undefined). */
export function choosePort(
  ports: readonly EndpointPort[] | null | undefined,
  wanted: string | number | undefined,
): number | undefined {
  if (ports == null) return undefined;
  const found =
    wanted === undefined
      ? ports[0]
      : ports.find((p) => (typeof wanted === 'number' ? p.port === wanted : p.name === wanted));
  const port = found?.port;
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
}

/** What {@link toInstances} needs besides the slices. */
export interface ConversionOptions {
  readonly port: string | number | undefined;
  readonly addressType: AddressType;
}

/**
 * The ready endpoints of `slices` as instances of `service`, ordered by ID.
 *
 * - An endpoint counts when `conditions.ready` is not `false`: the API says a missing value
 *   means ready, and a terminating or serving-only endpoint has `ready: false`.
 * - One instance per address. The ID is the target pod's name when it has one address, else
 *   `<slice>/<address>:<port>`. An endpoint listed by two slices (as happens briefly while the
 *   controller moves it) gives one instance.
 * - `meta` carries `zone`, `nodeName` and `hostname` when the endpoint has them.
 */
export function toInstances(
  service: string,
  slices: Iterable<EndpointSlice>,
  options: ConversionOptions,
): ServiceInstance[] {
  const byId = new Map<string, ServiceInstance>();
  const ordered = [...slices].sort((a, b) => compare(a.metadata.name, b.metadata.name));
  for (const slice of ordered) {
    if (slice.addressType !== options.addressType) continue;
    const port = choosePort(slice.ports, options.port);
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      const pod = endpoint.targetRef?.kind === 'Pod' ? endpoint.targetRef.name : undefined;
      const meta: Record<string, string> = {};
      if (endpoint.zone !== undefined) meta.zone = endpoint.zone;
      if (endpoint.nodeName !== undefined) meta.nodeName = endpoint.nodeName;
      if (endpoint.hostname !== undefined) meta.hostname = endpoint.hostname;
      for (const address of endpoint.addresses) {
        if (typeof address !== 'string' || address === '') continue;
        const id =
          pod !== undefined && pod !== '' && endpoint.addresses.length === 1
            ? pod
            : `${slice.metadata.name}/${address}:${port}`;
        if (byId.has(id)) continue;
        byId.set(
          id,
          Object.freeze({
            id,
            service,
            address,
            port,
            tags: Object.freeze([]),
            meta: Object.freeze({ ...meta }),
            status: 'passing',
            weight: 1,
          }),
        );
      }
    }
  }
  return [...byId.values()].sort((a, b) => compare(a.id, b.id));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
