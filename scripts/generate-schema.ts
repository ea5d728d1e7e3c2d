/**
 * Writes the JSON Schema of `switchyard.yaml` to schema/switchyard.schema.json, generated from
 * the CLI's zod schema, formatted as biome formats JSON. `npm run schema` runs it;
 * packages/cli/src/json-schema.test.ts fails when the committed file is out of date.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { JSON_SCHEMA_PATH, switchyardJsonSchemaText } from '@switchyard/cli';

const root = join(import.meta.dirname, '..');
const target = join(root, JSON_SCHEMA_PATH);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, switchyardJsonSchemaText());
// The repository's formatter has the last word on layout, so `biome check .` stays clean.
execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', JSON_SCHEMA_PATH], {
  cwd: root,
  stdio: 'ignore',
});
process.stdout.write(`wrote ${JSON_SCHEMA_PATH}\n`);
