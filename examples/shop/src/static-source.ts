import type { InstanceSource } from '@switchyard/client';
import type { ServiceInstance } from '@switchyard/core';

/**
 * An instance source with fixed addresses, for running a service without a registry and for
 * tests: `{ inventory: 'http://127.0.0.1:3001' }`. The map may be changed later (`set`), as a
 * registry's list changes when an instance moves.
 *
 * @example
 * ```ts
 * const source = staticSource({ payments: 'http://127.0.0.1:3002' });
 * const client = createHttpClient({ discovery: source });
 * source.set('payments', undefined); // now "no instance of payments"
 * ```
 */
export function staticSource(
  urls: Readonly<Record<string, string>>,
): InstanceSource & { set(service: string, url: string | undefined): void } {
  const current = new Map(Object.entries(urls));
  return {
    set(service, url) {
      if (url === undefined) current.delete(service);
      else current.set(service, url);
    },
    async instances(service) {
      const url = current.get(service);
      if (url === undefined) return [];
      const { hostname, port } = new URL(url);
      const instance: ServiceInstance = {
        id: `${service}-static`,
        service,
        address: hostname,
        port: Number(port),
        tags: [],
        meta: {},
        status: 'passing',
        weight: 1,
      };
      return [instance];
    },
  };
}
