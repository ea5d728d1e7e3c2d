import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { JSON_SCHEMA_PATH, switchyardJsonSchema, switchyardJsonSchemaText } from './json-schema.ts';

const root = join(import.meta.dirname, '..', '..', '..');

interface ObjectSchema {
  readonly type?: string;
  readonly properties?: Record<string, ObjectSchema>;
  readonly items?: ObjectSchema;
  readonly additionalProperties?: unknown;
}

/** Every `switchyard.yaml` under examples/. */
function exampleConfigs(): string[] {
  const dir = join(root, 'examples');
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(dir, entry.name, 'switchyard.yaml'))
    .filter((file) => existsSync(file));
}

/** The schema of `gateway:` and of one route. */
function gatewayAndRoute(schema: ObjectSchema): { gateway: ObjectSchema; route: ObjectSchema } {
  const gateway = schema.properties?.gateway;
  const route = gateway?.properties?.routes?.items;
  assert.ok(gateway !== undefined && route !== undefined, 'the schema describes gateway.routes[]');
  return { gateway, route };
}

/** Keys of `value` the object schema does not declare, as dotted paths. */
function unknownKeys(value: unknown, schema: ObjectSchema, at: string): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || schema.properties === undefined) return [];
  return Object.keys(value)
    .filter((key) => !Object.hasOwn(schema.properties ?? {}, key))
    .map((key) => `${at}.${key}`);
}

describe('JSON Schema of switchyard.yaml', () => {
  it(`is committed up to date in ${JSON_SCHEMA_PATH} (run \`npm run schema\` after changing a config schema)`, () => {
    // Compared as data: the file's layout is biome's.
    const committed = JSON.parse(readFileSync(join(root, JSON_SCHEMA_PATH), 'utf8')) as unknown;
    assert.deepEqual(committed, JSON.parse(switchyardJsonSchemaText()));
  });

  it('describes the input: strict objects, durations as strings or numbers, defaulted fields optional', () => {
    const schema = switchyardJsonSchema() as ObjectSchema & { required?: string[]; $schema?: string };
    assert.match(String(schema.$schema), /json-schema\.org/);
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required?.sort(), ['gateway', 'version']);
    const gateway = schema.properties?.gateway as ObjectSchema & { required?: string[] };
    assert.deepEqual(gateway.required, ['routes']);
    const timeout = JSON.stringify(gateway.properties?.timeout);
    assert.match(timeout, /"string"/);
    assert.match(timeout, /"number"/);
    const admin = gateway.properties?.admin as ObjectSchema;
    assert.deepEqual(Object.keys(admin.properties ?? {}).sort(), ['auth', 'host', 'port']);
  });

  it('knows every key the example configs use, at the top level, in the gateway and in each route', () => {
    const schema = switchyardJsonSchema() as ObjectSchema;
    const files = exampleConfigs();
    assert.ok(files.length > 0, 'examples/ holds at least one switchyard.yaml');
    for (const file of files) {
      const config = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const { gateway: gatewaySchema, route: routeSchema } = gatewayAndRoute(schema);
      const gateway = config.gateway as { routes?: unknown[] };
      const unknown = [
        ...unknownKeys(config, schema, '(root)'),
        ...unknownKeys(gateway, gatewaySchema, 'gateway'),
        ...(gateway.routes ?? []).flatMap((route, i) => unknownKeys(route, routeSchema, `gateway.routes[${i}]`)),
      ];
      assert.deepEqual(unknown, [], `${file} uses keys the schema does not describe`);
      assert.ok((gateway.routes ?? []).length > 0, `${file} has routes`);
    }
  });

  it('flags a key the schema does not describe (the check above can fail)', () => {
    const { route } = gatewayAndRoute(switchyardJsonSchema() as ObjectSchema);
    assert.deepEqual(unknownKeys({ path: '/a', servce: 'a' }, route, 'r'), ['r.servce']);
  });
});
