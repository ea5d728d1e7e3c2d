import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { parseEtcdUrl, registryUrlFor, resolveRegistryConfig } from './registry-config.ts';

/** The `path: message` lines of a SY_CONFIG_INVALID error. */
function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    const issues = (err.details as { issues: { path: string; message: string }[] }).issues;
    return issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

describe('resolveRegistryConfig', () => {
  it('is the embedded registry on 127.0.0.1:8500 without a backend (the earlier format)', () => {
    assert.deepEqual(resolveRegistryConfig({}), { backend: 'embedded', host: '127.0.0.1', port: 8500 });
    assert.deepEqual(resolveRegistryConfig({ port: 0 }), { backend: 'embedded', host: '127.0.0.1', port: 0 });
  });

  it('fills in the defaults of each backend', () => {
    assert.deepEqual(resolveRegistryConfig({ backend: 'consul' }), {
      backend: 'consul',
      url: 'http://127.0.0.1:8500',
    });
    assert.deepEqual(resolveRegistryConfig({ backend: 'etcd', leaseTtl: '5s' }), {
      backend: 'etcd',
      url: 'http://127.0.0.1:2379',
      prefix: '/switchyard/services/',
      leaseTtl: 5000,
    });
    assert.deepEqual(resolveRegistryConfig({ backend: 'kubernetes', namespace: 'shop', port: 'http' }), {
      backend: 'kubernetes',
      namespace: 'shop',
      port: 'http',
      addressType: 'IPv4',
    });
  });

  it('names registry.backend and the choices for an unknown backend', () => {
    const issues = issuesOf(() => resolveRegistryConfig({ backend: 'zookeeper' }));
    assert.equal(issues.length, 1);
    assert.match(
      issues[0] ?? '',
      /^registry\.backend: expected backend to be one of "embedded", "consul", "etcd", "kubernetes", got "zookeeper"/,
    );
  });

  it('rejects a field of another backend, naming it', () => {
    assert.deepEqual(
      issuesOf(() => resolveRegistryConfig({ backend: 'consul', prefix: '/x/' })),
      ['registry.prefix: unknown field'],
    );
    assert.deepEqual(
      issuesOf(() => resolveRegistryConfig({ url: 'http://127.0.0.1:8500' })),
      ['registry.url: unknown field'],
    );
  });

  it('names the bad field of an etcd or consul section', () => {
    const etcd = issuesOf(() =>
      resolveRegistryConfig({
        backend: 'etcd',
        url: ['http://127.0.0.1:2379', 'redis://x'],
        prefix: 'shop',
        leaseTtl: '200ms',
      }),
    );
    assert.deepEqual(
      etcd.map((line) => line.slice(0, line.indexOf(':'))),
      ['registry.url[1]', 'registry.prefix', 'registry.leaseTtl'],
    );
    assert.deepEqual(
      issuesOf(() => resolveRegistryConfig({ backend: 'consul', url: 'consul:8500' }, 'sys.registry')),
      ['sys.registry.url: expected an http:// or https:// URL, such as "http://127.0.0.1:8500"'],
    );
  });
});

describe('registryUrlFor and parseEtcdUrl', () => {
  it('gives instances an etcd:// URL carrying endpoints, prefix and lease, which parses back', () => {
    const config = resolveRegistryConfig({
      backend: 'etcd',
      url: ['http://10.0.0.3:2379', 'etcd://10.0.0.4:2379'],
      prefix: '/shop/services/',
      leaseTtl: '2500ms',
    });
    const url = registryUrlFor(config);
    assert.equal(url, 'etcd://10.0.0.3:2379,10.0.0.4:2379/shop/services/?leaseTtl=3s');
    assert.deepEqual(parseEtcdUrl(url, 'SWITCHYARD_REGISTRY_URL'), {
      endpoints: ['http://10.0.0.3:2379', 'http://10.0.0.4:2379'],
      prefix: '/shop/services/',
      leaseTtl: '3s',
    });
  });

  it('uses etcds:// (https endpoints) for TLS and the default prefix without a path', () => {
    assert.deepEqual(parseEtcdUrl('etcds://etcd.internal:2379', 'f'), {
      endpoints: ['https://etcd.internal:2379'],
      prefix: '/switchyard/services/',
    });
  });

  it('gives the embedded and consul backends their http URL', () => {
    assert.equal(registryUrlFor(resolveRegistryConfig({ port: 8600 })), 'http://127.0.0.1:8600');
    assert.equal(
      registryUrlFor(resolveRegistryConfig({ port: 0 }), 'http://127.0.0.1:41234'),
      'http://127.0.0.1:41234',
    );
    assert.equal(
      registryUrlFor(resolveRegistryConfig({ backend: 'consul', url: 'https://consul:8501' })),
      'https://consul:8501',
    );
  });

  it('refuses kubernetes for instances, naming registry.backend', () => {
    const issues = issuesOf(() => registryUrlFor(resolveRegistryConfig({ backend: 'kubernetes' })));
    assert.match(issues[0] ?? '', /^registry\.backend: kubernetes is read-only/);
  });

  it('names the field for a bad etcd URL: no port, unknown parameter, bad prefix', () => {
    assert.match(
      issuesOf(() => parseEtcdUrl('etcd://10.0.0.3', 'SWITCHYARD_REGISTRY_URL'))[0] ?? '',
      /^SWITCHYARD_REGISTRY_URL: bad endpoint/,
    );
    assert.match(issuesOf(() => parseEtcdUrl('etcd://h:1/?ttl=3s', 'X'))[0] ?? '', /^X: unknown parameter "ttl"/);
    assert.match(issuesOf(() => parseEtcdUrl('etcd://h:1/a b/', 'X'))[0] ?? '', /^X: bad key prefix/);
    assert.match(issuesOf(() => parseEtcdUrl('http://h:1', 'X'))[0] ?? '', /^X: not an etcd:\/\/ URL/);
  });
});
