import { stringify } from 'yaml';

/**
 * Renders an Envoy config as YAML, as `envoy -c envoy.yaml` reads it. Keys keep their order;
 * strings that YAML would read as another type (`"true"`, `"0.25s"` stays a string anyway)
 * are quoted by the `yaml` package.
 *
 * @example
 * ```ts
 * writeFileSync('envoy.yaml', toEnvoyYaml(generateEnvoyBootstrap(mesh, { mode: 'front-proxy' })));
 * ```
 */
export function toEnvoyYaml(config: unknown): string {
  return stringify(config, { lineWidth: 0, aliasDuplicateObjects: false });
}
