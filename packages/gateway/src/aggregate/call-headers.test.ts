import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregateCallHeaders } from './call-headers.ts';

const context = { requestId: 'r1', clientAddress: '10.0.0.7', trusted: false, protocol: 'http' as const };

test('only the listed headers and the trace context are copied; the gateway rules add the rest', () => {
  const headers = aggregateCallHeaders(
    {
      authorization: 'Bearer t',
      cookie: 'secret=1',
      'content-type': 'application/json',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'k=v',
      host: 'shop.test',
      'x-forwarded-for': '6.6.6.6',
      'x-request-id': 'spoofed',
    },
    ['authorization'],
    context,
  );
  assert.deepEqual(headers, {
    authorization: 'Bearer t',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    tracestate: 'k=v',
    'x-forwarded-for': '10.0.0.7',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'shop.test',
    'x-request-id': 'r1',
    via: '1.1 switchyard',
    accept: 'application/json',
  });
});

test('a trusted proxy keeps its forwarding chain; a forwarded Accept wins', () => {
  const headers = aggregateCallHeaders({ 'x-forwarded-for': '1.2.3.4', accept: 'text/plain' }, ['accept'], {
    ...context,
    trusted: true,
  });
  assert.equal(headers['x-forwarded-for'], '1.2.3.4, 10.0.0.7');
  assert.equal(headers.accept, 'text/plain');
});
