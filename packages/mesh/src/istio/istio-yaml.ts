import { stringify } from 'yaml';
import type { IstioResource } from './istio-validate.ts';

/**
 * Renders resources as one multi-document YAML stream (`---` between documents), as
 * `kubectl apply -f` and `istioctl analyze` read it.
 *
 * @example
 * ```ts
 * writeFileSync('istio.yaml', toIstioYaml(generateIstioResources(mesh, { namespace: 'shop' }).resources));
 * ```
 */
export function toIstioYaml(resources: readonly IstioResource[]): string {
  return resources.map((r) => stringify(r, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/**
 * Renders resources as a Kubernetes `List` in JSON, which `kubectl apply -f` reads as well.
 *
 * @example
 * ```ts
 * JSON.parse(toIstioJson(resources)).items.length === resources.length; // true
 * ```
 */
export function toIstioJson(resources: readonly IstioResource[]): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: resources }, null, 2)}\n`;
}

/**
 * The file name of a resource when each is written on its own: `<kind>-<name>.<ext>`, lower case.
 *
 * @example
 * ```ts
 * istioFileName(resource, 'yaml'); // 'virtualservice-orders.yaml'
 * ```
 */
export function istioFileName(resource: IstioResource, ext: 'yaml' | 'json'): string {
  return `${resource.kind.toLowerCase()}-${resource.metadata.name}.${ext}`;
}
