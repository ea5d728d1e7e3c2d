import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError, type ServiceInstance } from '@switchyard/core';
import { resolveGatewayOptions } from './options.ts';
import { createStaticUpstreams, parseStaticUpstream, requireDiscovery } from './static-upstreams.ts';

describe('parseStaticUpstream', () => {
  test('host, port (80 by default), IPv6 and a path prefix without trailing slash', () => {
    const a = parseStaticUpstream('http://127.0.0.1:3001', 'static:a');
    assert.ok(a.ok);
    assert.equal(a.upstream.instance.id, 'http://127.0.0.1:3001');
    assert.equal(a.upstream.instance.service, 'static:a');
    assert.equal(a.upstream.instance.address, '127.0.0.1');
    assert.equal(a.upstream.instance.port, 3001);
    assert.equal(a.upstream.instance.status, 'passing');
    assert.equal(a.upstream.pathPrefix, '');
    const b = parseStaticUpstream('http://Billing.internal/v1/', 'static:b');
    assert.ok(b.ok);
    assert.equal(b.upstream.instance.address, 'billing.internal');
    assert.equal(b.upstream.instance.port, 80);
    assert.equal(b.upstream.pathPrefix, '/v1');
    const c = parseStaticUpstream('http://[::1]:8080', 'static:c');
    assert.ok(c.ok);
    assert.equal(c.upstream.instance.address, '::1');
    assert.equal(c.upstream.instance.id, 'http://[::1]:8080');
  });

  test('takes https upstreams: port 443 by default, meta.scheme https', () => {
    const result = parseStaticUpstream('https://a.test/v1', 'static:x');
    assert.ok(result.ok);
    assert.equal(result.upstream.instance.id, 'https://a.test:443');
    assert.equal(result.upstream.instance.port, 443);
    assert.deepEqual(result.upstream.instance.meta, { scheme: 'https' });
    assert.equal(result.upstream.pathPrefix, '/v1');
  });

  test('refuses other schemes, credentials, queries and non-URLs', () => {
    const message = (text: string) => {
      const result = parseStaticUpstream(text, 'static:x');
      assert.ok(!result.ok, text);
      return result.message;
    };
    assert.match(message('ftp://a.test'), /expected an http:\/\/ or https:\/\/ URL/);
    assert.match(message('http://u:p@a.test'), /credentials/);
    assert.match(message('http://a.test/?x=1'), /query or fragment/);
    assert.match(message('a.test:80'), /expected an http/);
    assert.match(message('not a url'), /expected a URL/);
  });
});

describe('createStaticUpstreams', () => {
  const registry = {
    asked: [] as string[],
    async instances(service: string): Promise<readonly ServiceInstance[]> {
      this.asked.push(service);
      return [];
    },
  };

  test('answers static:<name> from the current routes and passes the rest to discovery', async () => {
    let options = resolveGatewayOptions({
      routes: [
        { name: 'legacy', path: '/legacy', upstreams: ['http://127.0.0.1:4001', 'http://127.0.0.1:4002'] },
        { path: '/orders', service: 'orders' },
      ],
    });
    const source = createStaticUpstreams(() => options.routes, registry);
    assert.deepEqual(
      (await source.instances('static:legacy')).map((i) => i.id),
      ['http://127.0.0.1:4001', 'http://127.0.0.1:4002'],
    );
    assert.deepEqual(await source.instances('static:unknown'), []);
    await source.instances('orders');
    assert.deepEqual(registry.asked, ['orders']);
    options = resolveGatewayOptions({ routes: [{ name: 'legacy', path: '/l', upstreams: ['http://127.0.0.1:4003'] }] });
    assert.deepEqual(
      (await source.instances('static:legacy')).map((i) => i.id),
      ['http://127.0.0.1:4003'],
      'a new route list is read at once',
    );
  });

  test('without discovery, a registry service is refused with a message saying why', async () => {
    const source = createStaticUpstreams(() => []);
    await assert.rejects(source.instances('orders'), /no discovery was given/);
  });
});

describe('requireDiscovery', () => {
  test('is satisfied by static routes alone, refuses a service route without discovery', () => {
    const staticOnly = resolveGatewayOptions({ routes: [{ path: '/a', upstreams: ['http://127.0.0.1:1'] }] });
    requireDiscovery(staticOnly.routes, undefined);
    const mixed = resolveGatewayOptions({
      routes: [
        { path: '/a', upstreams: ['http://127.0.0.1:1'] },
        { path: '/b', service: 'b' },
      ],
    });
    assert.throws(
      () => requireDiscovery(mixed.routes, undefined),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        err.message.includes('discovery: required: gateway.routes[1] ("/b") forwards to service "b"'),
    );
    requireDiscovery(mixed.routes, { instances: async () => [] });
  });
});
