import * as z from 'zod';
import { switchyardConfigSchema } from './config-schema.ts';

/** Where the committed JSON Schema lives, relative to the repository root. */
export const JSON_SCHEMA_PATH = 'schema/switchyard.schema.json';

/**
 * The JSON Schema of `switchyard.yaml` (draft 2020-12), generated from the same zod schema the
 * loader validates with, for editors (`# yaml-language-server: $schema=...`). It describes the
 * input: durations accept `"250ms"`, `"5s"` or milliseconds, defaulted fields are optional.
 * Checks zod runs in code (route conflicts, `${ENV}` substitution, cross-field rules) are not in
 * it: `switchyard validate` stays the authority.
 *
 * @example
 * ```ts
 * writeFileSync('schema/switchyard.schema.json', `${JSON.stringify(switchyardJsonSchema(), null, 2)}\n`);
 * ```
 */
export function switchyardJsonSchema(): Record<string, unknown> {
  // 'any' for what JSON Schema cannot express (functions given in code, such as a rate-limit
  // key function): YAML cannot write those anyway.
  const generated = z.toJSONSchema(switchyardConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: 'https://switchyard.dev/schema/switchyard.schema.json',
    title: 'switchyard.yaml',
    description:
      'Configuration of a Switchyard system: the gateway, the registry and the services `switchyard up` runs.',
    ...rest,
  };
}

/** {@link switchyardJsonSchema} as the committed file's text (2-space indent, trailing newline). */
export function switchyardJsonSchemaText(): string {
  return `${JSON.stringify(switchyardJsonSchema(), null, 2)}\n`;
}
