import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { isSwitchyardError } from '@switchyard/core';
import { createKubernetesDiscovery } from './kubernetes-discovery.ts';
import { defaultNamespace, resolveKubernetesDiscoveryOptions } from './options.ts';

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    return err.message;
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

function kubeConfig(namespace?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u', ...(namespace === undefined ? {} : { namespace }) }],
    currentContext: 'ctx',
  });
  return kc;
}

it('defaults: IPv4, first port, 5 min watches, 100 ms to 5 s retries', () => {
  const resolved = resolveKubernetesDiscoveryOptions();
  assert.equal(resolved.namespace, undefined);
  assert.equal(resolved.kubeConfig, undefined);
  assert.equal(resolved.port, undefined);
  assert.equal(resolved.addressType, 'IPv4');
  assert.equal(resolved.watchTimeoutSeconds, 300);
  assert.equal(resolved.minRetryDelayMs, 100);
  assert.equal(resolved.maxRetryDelayMs, 5000);
  assert.ok(Object.isFrozen(resolved));
});

it('takes durations as strings, rounds the watch timeout up to seconds, keeps the KubeConfig as given', () => {
  const kc = kubeConfig();
  const resolved = resolveKubernetesDiscoveryOptions({ kubeConfig: kc, watchTimeout: '1500ms', port: 'http' });
  assert.equal(resolved.watchTimeoutSeconds, 2);
  assert.equal(resolved.kubeConfig, kc);
  assert.ok(!Object.isFrozen(kc));
});

it('names the bad field in each error', () => {
  assert.match(
    configError(() => resolveKubernetesDiscoveryOptions({ namespace: 'Shop_1' })),
    /kubernetes\.namespace: expected a DNS-1123 label/,
  );
  assert.match(
    configError(() => resolveKubernetesDiscoveryOptions({ port: 70000 })),
    /kubernetes\.port/,
  );
  assert.match(
    configError(() => resolveKubernetesDiscoveryOptions({ port: '' })),
    /kubernetes\.port/,
  );
  assert.match(
    configError(() => resolveKubernetesDiscoveryOptions({ addressType: 'ipv4' as never })),
    /kubernetes\.addressType/,
  );
  assert.match(
    configError(() => resolveKubernetesDiscoveryOptions({ watchTimeout: '10ms' })),
    /kubernetes\.watchTimeout: expected a duration of at least 1s/,
  );
  assert.match(
    configError(() => resolveKubernetesDiscoveryOptions({ minRetryDelay: '2s', maxRetryDelay: '1s' })),
    /kubernetes\.maxRetryDelay: expected a duration >= minRetryDelay/,
  );
  assert.match(
    configError(() => resolveKubernetesDiscoveryOptions({ kubeConfig: {} as never })),
    /kubernetes\.kubeConfig: expected a KubeConfig/,
  );
  assert.match(
    configError(() => resolveKubernetesDiscoveryOptions({ namespce: 'shop' } as never)),
    /namespce: unknown field \(did you mean "namespace"\?\)/,
  );
});

it('namespace: the option, else the context, else the service account file, else "default"', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-k8s-'));
  try {
    const file = join(dir, 'namespace');
    assert.equal(defaultNamespace(kubeConfig('payments'), file), 'payments');
    assert.equal(defaultNamespace(kubeConfig(), file), 'default');
    writeFileSync(file, 'shop\n');
    assert.equal(defaultNamespace(kubeConfig(), file), 'shop');
    assert.equal(
      createKubernetesDiscovery({ kubeConfig: kubeConfig('payments'), namespace: 'orders' }).namespace,
      'orders',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a KubeConfig without a current cluster fails at once, naming kubeConfig', () => {
  const empty = new KubeConfig();
  assert.match(
    configError(() => createKubernetesDiscovery({ kubeConfig: empty })),
    /kubernetes\.kubeConfig: no current cluster/,
  );
});
