import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from './create-metrics.ts';
import { sampleValue, seriesOf } from './internal/exposition.ts';
import { noopMetrics } from './noop-metrics.ts';
import { RegistryAuthRefusal, XdsAuthRefusal } from './types.ts';

const registry = (reason: string) => `switchyard_registry_auth_refused_total{reason="${reason}"}`;
const xds = (reason: string) => `switchyard_xds_auth_refused_total{reason="${reason}"}`;

describe('createMetrics: control plane', () => {
  it('exposes every refusal reason at 0 before the first refusal', async () => {
    const text = await createMetrics({ defaultMetrics: false }).text();
    for (const reason of Object.values(RegistryAuthRefusal)) assert.equal(sampleValue(text, registry(reason)), 0);
    for (const reason of Object.values(XdsAuthRefusal)) assert.equal(sampleValue(text, xds(reason)), 0);
    assert.equal(seriesOf(text, 'switchyard_registry_auth_refused_total').length, 3);
    assert.equal(seriesOf(text, 'switchyard_xds_auth_refused_total').length, 3);
    assert.match(text, /# TYPE switchyard_registry_auth_refused_total counter/);
    assert.match(text, /# TYPE switchyard_xds_auth_refused_total counter/);
  });

  it('counts registry and xDS refusals by reason, each in its own metric', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.controlPlane.registryAuthRefused(RegistryAuthRefusal.MissingToken);
    metrics.controlPlane.registryAuthRefused(RegistryAuthRefusal.MissingToken);
    metrics.controlPlane.registryAuthRefused(RegistryAuthRefusal.InsufficientPolicy);
    metrics.controlPlane.xdsAuthRefused(XdsAuthRefusal.UnknownToken);
    metrics.controlPlane.xdsAuthRefused(XdsAuthRefusal.UntrustedCertificate);
    metrics.controlPlane.xdsAuthRefused(XdsAuthRefusal.UntrustedCertificate);
    const text = await metrics.text();
    assert.equal(sampleValue(text, registry('missing_token')), 2);
    assert.equal(sampleValue(text, registry('unknown_token')), 0);
    assert.equal(sampleValue(text, registry('insufficient_policy')), 1);
    assert.equal(sampleValue(text, xds('missing_token')), 0);
    assert.equal(sampleValue(text, xds('unknown_token')), 1);
    assert.equal(sampleValue(text, xds('untrusted_certificate')), 2);
  });

  it('drops a reason outside the set instead of adding a series or throwing', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.controlPlane.registryAuthRefused('token=abc123' as RegistryAuthRefusal);
    metrics.controlPlane.xdsAuthRefused('untrusted' as XdsAuthRefusal);
    const text = await metrics.text();
    assert.equal(seriesOf(text, 'switchyard_registry_auth_refused_total').length, 3);
    assert.equal(seriesOf(text, 'switchyard_xds_auth_refused_total').length, 3);
    assert.ok(!text.includes('abc123'));
  });

  it('the no-op instruments accept the same calls', () => {
    noopMetrics.controlPlane.registryAuthRefused(RegistryAuthRefusal.UnknownToken);
    noopMetrics.controlPlane.xdsAuthRefused(XdsAuthRefusal.MissingToken);
    assert.equal(noopMetrics.enabled, false);
  });
});
