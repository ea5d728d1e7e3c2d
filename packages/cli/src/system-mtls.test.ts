import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mtlsConfigIssues, resolveUpMtls, upMtlsObjectSchema } from './system-mtls.ts';

const services = {
  orders: { dependsOn: ['payments'] },
  payments: { dependsOn: [] },
  cart: { dependsOn: ['payments'] },
};
const id = (sa: string) => `spiffe://switchyard.local/ns/default/sa/${sa}`;

describe('resolveUpMtls', () => {
  it('is off when absent or false', () => {
    assert.equal(resolveUpMtls({ services }), undefined);
    assert.equal(resolveUpMtls({ mtls: false, services }), undefined);
  });

  it('lets the gateway and the services depending on a service call it by default', () => {
    const resolved = resolveUpMtls({ mtls: true, services });
    assert.equal(resolved?.trustDomain, 'switchyard.local');
    assert.equal(resolved?.ttlMs, 3_600_000);
    assert.deepEqual(resolved?.allow, {
      orders: [id('gateway')],
      payments: [id('gateway'), id('orders'), id('cart')],
      cart: [id('gateway')],
    });
  });

  it('takes an allow list as the whole list, names turned into SPIFFE IDs', () => {
    const mtls = upMtlsObjectSchema.parse({
      trustDomain: 'shop.local',
      namespace: 'prod',
      allow: { payments: ['orders', 'spiffe://shop.local/ns/jobs/sa/*'] },
    });
    const resolved = resolveUpMtls({ mtls, services });
    assert.deepEqual(resolved?.allow.payments, [
      'spiffe://shop.local/ns/prod/sa/orders',
      'spiffe://shop.local/ns/jobs/sa/*',
    ]);
    assert.deepEqual(resolved?.allow.orders, ['spiffe://shop.local/ns/prod/sa/gateway']);
  });
});

describe('mtlsConfigIssues', () => {
  it('refuses a service named like the gateway', () => {
    assert.deepEqual(mtlsConfigIssues({ mtls: true, services: { gateway: { dependsOn: [] } } }), [
      {
        path: ['services', 'gateway'],
        message: 'with mtls on, "gateway" names the gateway\'s SPIFFE ID: rename the service',
      },
    ]);
    assert.deepEqual(mtlsConfigIssues({ services: { gateway: { dependsOn: [] } } }), []);
  });
});
