/**
 * The versioned state of every resource the server serves. Each type URL has its own version, a
 * decimal integer that grows by one whenever that type's resources change (a name added or
 * removed, or any resource's bytes), so a change to endpoints moves only the EDS version and
 * clients are not sent identical listeners again.
 */
import { createHash } from 'node:crypto';
import type { ServiceInstance } from '@switchyard/core';
import {
  type AnyMessage,
  clusterResource,
  listenerResource,
  loadAssignmentResource,
  packAny,
  routeConfigurationResource,
  type XdsServicePolicy,
} from './resources.ts';
import { XdsTypeUrl, xdsTypeUrls } from './types.ts';

/** One encoded resource. */
export interface EncodedResource {
  readonly name: string;
  readonly any: AnyMessage;
  /** sha256 of the encoded bytes, hex. */
  readonly hash: string;
}

/** The resources of one type at one version. */
export interface TypeSnapshot {
  /** Grows by one per change; 0 before the first snapshot. */
  readonly version: number;
  readonly resources: ReadonlyMap<string, EncodedResource>;
}

/** What the cache builds from: the services to serve, each with its policy and instances. */
export interface ServiceEntry {
  readonly policy: XdsServicePolicy;
  readonly instances: readonly ServiceInstance[];
}

/** The versioned resources of every type. */
export interface SnapshotCache {
  /** The current resources of `typeUrl`, or `undefined` before the first {@link SnapshotCache.update}. */
  get(typeUrl: XdsTypeUrl): TypeSnapshot | undefined;
  /** Rebuilds every resource; returns the type URLs whose version moved, in push order. */
  update(services: ReadonlyMap<string, ServiceEntry>): XdsTypeUrl[];
  /** The current version of each type, as sent in `version_info` (`'0'` before the first update). */
  versions(): Record<XdsTypeUrl, string>;
}

const typeNames: Record<XdsTypeUrl, string> = {
  [XdsTypeUrl.Listener]: 'envoy.config.listener.v3.Listener',
  [XdsTypeUrl.RouteConfiguration]: 'envoy.config.route.v3.RouteConfiguration',
  [XdsTypeUrl.Cluster]: 'envoy.config.cluster.v3.Cluster',
  [XdsTypeUrl.ClusterLoadAssignment]: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};

function build(typeUrl: XdsTypeUrl, service: string, entry: ServiceEntry): Record<string, unknown> {
  switch (typeUrl) {
    case XdsTypeUrl.Listener:
      return listenerResource(service);
    case XdsTypeUrl.RouteConfiguration:
      return routeConfigurationResource(service, entry.policy);
    case XdsTypeUrl.Cluster:
      return clusterResource(service, entry.policy);
    case XdsTypeUrl.ClusterLoadAssignment:
      return loadAssignmentResource(service, entry.instances);
  }
}

function encode(typeUrl: XdsTypeUrl, object: Record<string, unknown>, name: string): EncodedResource {
  const any = packAny(typeNames[typeUrl], object);
  return { name, any, hash: createHash('sha256').update(any.value).digest('hex') };
}

function sameResources(a: ReadonlyMap<string, EncodedResource>, b: ReadonlyMap<string, EncodedResource>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, resource] of a) if (b.get(name)?.hash !== resource.hash) return false;
  return true;
}

/**
 * Creates an empty cache.
 *
 * @example
 * ```ts
 * const cache = createSnapshotCache();
 * cache.update(new Map([['greeter', { policy, instances }]])); // every type moves to version 1
 * ```
 */
export function createSnapshotCache(): SnapshotCache {
  const current = new Map<XdsTypeUrl, TypeSnapshot>();
  return {
    get: (typeUrl) => current.get(typeUrl),
    update(services) {
      const changed: XdsTypeUrl[] = [];
      for (const typeUrl of xdsTypeUrls) {
        const resources = new Map<string, EncodedResource>();
        for (const [service, entry] of services) {
          resources.set(service, encode(typeUrl, build(typeUrl, service, entry), service));
        }
        const previous = current.get(typeUrl);
        if (previous !== undefined && sameResources(previous.resources, resources)) continue;
        current.set(typeUrl, { version: (previous?.version ?? 0) + 1, resources });
        changed.push(typeUrl);
      }
      return changed;
    },
    versions() {
      const out = {} as Record<XdsTypeUrl, string>;
      for (const typeUrl of xdsTypeUrls) out[typeUrl] = String(current.get(typeUrl)?.version ?? 0);
      return out;
    },
  };
}
