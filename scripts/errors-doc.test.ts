import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { etcdErrorCodes } from '@switchyard/adapter-etcd';
import { kubernetesErrorCodes } from '@switchyard/adapter-kubernetes';
import { natsErrorCodes } from '@switchyard/adapter-nats';
import { postgresErrorCodes } from '@switchyard/adapter-postgres';
import { rabbitMqErrorCodes } from '@switchyard/adapter-rabbitmq';
import { redisErrorCodes } from '@switchyard/adapter-redis';
import { cliErrorCodes } from '@switchyard/cli';
import { clientErrorCodes } from '@switchyard/client';
import { coreErrorCodes } from '@switchyard/core';
import { discoveryErrorCodes } from '@switchyard/discovery';
import { gatewayErrorCodes } from '@switchyard/gateway';
import { meshErrorCodes } from '@switchyard/mesh';
import { resilienceErrorCodes } from '@switchyard/resilience';
import { sagaErrorCodes } from '@switchyard/saga';
import { serviceErrorCodes } from '@switchyard/service';
import { telemetryErrorCodes } from '@switchyard/telemetry';

const tables = {
  core: coreErrorCodes,
  resilience: resilienceErrorCodes,
  telemetry: telemetryErrorCodes,
  discovery: discoveryErrorCodes,
  client: clientErrorCodes,
  gateway: gatewayErrorCodes,
  mesh: meshErrorCodes,
  service: serviceErrorCodes,
  saga: sagaErrorCodes,
  cli: cliErrorCodes,
  redis: redisErrorCodes,
  etcd: etcdErrorCodes,
  kubernetes: kubernetesErrorCodes,
  postgres: postgresErrorCodes,
  nats: natsErrorCodes,
  rabbitmq: rabbitMqErrorCodes,
};

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const sections = new Map<string, string>();
for (const part of doc.split(/^### /m).slice(1)) {
  const [heading = '', ...body] = part.split('\n');
  sections.set(heading.trim().replace(/`/g, ''), body.join('\n'));
}

it('every error code is documented in docs/errors.md, with a fix', () => {
  for (const [pkg, table] of Object.entries(tables)) {
    for (const code of Object.keys(table)) {
      const section = sections.get(code);
      assert.ok(section !== undefined, `${code} (${pkg}) has no "### ${code}" section in docs/errors.md`);
      assert.match(section, /\*\*Fix\*\*/, `${code} has no **Fix** line`);
    }
  }
});

it('docs/errors.md documents no code that does not exist', () => {
  const known = new Set(Object.values(tables).flatMap((t) => Object.keys(t)));
  for (const code of sections.keys()) assert.ok(known.has(code), `docs/errors.md documents unknown code ${code}`);
});

it('codes follow SY_<AREA>_<WHAT> and each package uses its own area', () => {
  const areas: Record<string, string[]> = {
    core: ['CONFIG', 'CANCELLED'],
    resilience: ['RESILIENCE'],
    telemetry: ['TELEMETRY'],
    discovery: ['DISCOVERY'],
    client: ['CLIENT'],
    gateway: ['GATEWAY'],
    mesh: ['MESH'],
    service: ['SERVICE'],
    saga: ['SAGA', 'BUS'],
    cli: ['CLI'],
    redis: ['REDIS'],
    etcd: ['ETCD'],
    kubernetes: ['KUBERNETES'],
    postgres: ['POSTGRES'],
    nats: ['NATS'],
    rabbitmq: ['RABBITMQ'],
  };
  for (const [pkg, table] of Object.entries(tables)) {
    for (const code of Object.keys(table)) {
      assert.match(code, /^SY_[A-Z]+(_[A-Z0-9]+)*$/);
      assert.ok(
        areas[pkg]?.some((area) => code.startsWith(`SY_${area}`)),
        `${code} is in ${pkg}'s table but not in its area`,
      );
    }
  }
});
