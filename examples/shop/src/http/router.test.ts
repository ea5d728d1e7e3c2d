import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shopError } from '../errors.ts';
import { createAsyncRouter, createRouter } from './router.ts';
import { appRequest } from './types.ts';

describe('createRouter', () => {
  const router = createRouter({ onError: () => {} })
    .route('GET', '/orders/:id', (_req, params) => ({ status: 200, body: params }))
    .route('POST', '/orders/:id/items/:sku', (_req, params) => ({ status: 201, body: params }))
    .route('GET', '/orders', () => ({ status: 200, body: 'list' }))
    .route('GET', '/gone', () => {
      throw shopError('SY_SHOP_ORDER_NOT_FOUND', 'no order with id "x"');
    });

  it('answers an unknown path with 404 SY_SHOP_ROUTE_NOT_FOUND', () => {
    const res = router.handle(appRequest('GET', '/nothing/here'));
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, {
      error: { code: 'SY_SHOP_ROUTE_NOT_FOUND', message: 'no endpoint for GET /nothing/here' },
    });
  });

  it('answers a known path with another method with 405 and Allow', () => {
    const res = router.handle(appRequest('DELETE', '/orders/1'));
    assert.equal(res.status, 405);
    assert.equal(res.headers?.allow, 'GET');
    assert.equal((res.body as { error: { code: string } }).error.code, 'SY_SHOP_METHOD_NOT_ALLOWED');
  });

  it('renders a thrown shop error with its status and code', () => {
    const res = router.handle(appRequest('GET', '/gone'));
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error: { code: 'SY_SHOP_ORDER_NOT_FOUND', message: 'no order with id "x"' } });
  });

  it('turns any other error into a 500 without leaking it, and reports it', () => {
    const seen: unknown[] = [];
    const reporting = createRouter({ onError: (err) => seen.push(err) }).route('GET', '/x', () => {
      throw new Error('database on fire');
    });
    const res = reporting.handle(appRequest('GET', '/x'));
    assert.equal(res.status, 500);
    assert.equal((res.body as { error: { code: string } }).error.code, 'SY_SHOP_INTERNAL');
    assert.doesNotMatch(JSON.stringify(res.body), /fire/);
    assert.equal(seen.length, 1);
  });

  it('rejects malformed percent-encoding with a 400', () => {
    const res = router.handle(appRequest('GET', '/orders/%E0%A4%A'));
    assert.equal(res.status, 400);
    assert.equal((res.body as { error: { code: string } }).error.code, 'SY_SHOP_INVALID_REQUEST');
  });

  it('captures decoded parameters and ignores a trailing slash', () => {
    assert.deepEqual(router.handle(appRequest('GET', '/orders/a%20b')).body, { id: 'a b' });
    assert.deepEqual(router.handle(appRequest('POST', '/orders/o1/items/SKU-1/')).body, { id: 'o1', sku: 'SKU-1' });
    assert.equal(router.handle(appRequest('GET', '/orders/')).body, 'list');
  });

  it('does not match an empty parameter', () => {
    assert.equal(router.handle(appRequest('POST', '/orders//items/x')).status, 404);
  });
});

describe('createAsyncRouter', () => {
  const seen: unknown[] = [];
  const router = createAsyncRouter({ onError: (err) => seen.push(err) })
    .route('GET', '/orders/:id', async (_req, { id }) => ({ status: 200, body: { id } }))
    .route('GET', '/sync', () => ({ status: 200, body: 'sync' }))
    .route('GET', '/declined', async () => {
      throw shopError('SY_SHOP_PAYMENT_DECLINED', 'too much');
    })
    .route('GET', '/broken', async () => {
      throw new Error('boom');
    });

  it('answers with what the handler resolves, and synchronously for a synchronous handler', async () => {
    assert.deepEqual(await router.handle(appRequest('GET', '/orders/o1')), { status: 200, body: { id: 'o1' } });
    assert.deepEqual(router.handle(appRequest('GET', '/sync')), { status: 200, body: 'sync' });
  });

  it('renders a rejection like a throw: shop errors with their status, anything else a reported 500', async () => {
    assert.equal((await router.handle(appRequest('GET', '/declined'))).status, 402);
    assert.equal(seen.length, 0);
    const broken = await router.handle(appRequest('GET', '/broken'));
    assert.equal(broken.status, 500);
    assert.equal((broken.body as { error: { code: string } }).error.code, 'SY_SHOP_INTERNAL');
    assert.equal(seen.length, 1);
    assert.equal((router.handle(appRequest('POST', '/sync')) as { status: number }).status, 405);
  });
});

describe('routeOf', () => {
  const router = createRouter()
    .route('GET', '/orders/:id', () => ({ status: 200, body: null }))
    .route('POST', '/orders/:id/refund', () => ({ status: 200, body: null }))
    .route('GET', '/', () => ({ status: 200, body: null }));

  it('names the pattern that serves the request, never the raw path', () => {
    assert.equal(router.routeOf('GET', '/orders/ord_1'), '/orders/:id');
    assert.equal(router.routeOf('get', '/orders/ord%20two/'), '/orders/:id');
    assert.equal(router.routeOf('POST', '/orders/ord_1/refund'), '/orders/:id/refund');
    assert.equal(router.routeOf('GET', '/'), '/');
  });

  it('is undefined for an unknown path, another method, or a malformed path', () => {
    assert.equal(router.routeOf('GET', '/nothing'), undefined);
    assert.equal(router.routeOf('DELETE', '/orders/ord_1'), undefined);
    assert.equal(router.routeOf('GET', '/orders/%E0%A4%A'), undefined);
  });

  it('is the same on an async router', () => {
    const inner = createAsyncRouter().route('POST', '/reservations', async () => ({ status: 201, body: null }));
    assert.equal(inner.routeOf('POST', '/reservations'), '/reservations');
  });
});
