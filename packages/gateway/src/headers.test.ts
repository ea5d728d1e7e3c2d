import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createProxyTrust,
  downstreamResponseHeaders,
  normalizeAddress,
  requestIdFor,
  upstreamRequestHeaders,
  withoutHopByHop,
} from './headers.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('withoutHopByHop', () => {
  test('drops the fixed list and every field named in Connection', () => {
    const out = withoutHopByHop({
      connection: 'keep-alive, X-Secret ,x-other',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      'proxy-authenticate': 'Basic',
      'proxy-authorization': 'Basic abc',
      te: 'trailers',
      trailer: 'x-checksum',
      'transfer-encoding': 'chunked',
      upgrade: 'websocket',
      'x-secret': '1',
      'x-other': '2',
      'x-kept': '3',
      'set-cookie': ['a=1', 'b=2'],
      absent: undefined,
    });
    assert.deepEqual(out, { 'x-kept': '3', 'set-cookie': ['a=1', 'b=2'] });
  });

  test('reads Connection given as several lines', () => {
    assert.deepEqual(withoutHopByHop({ connection: ['x-a', 'x-b'], 'x-a': '1', 'x-b': '2', 'x-c': '3' }), {
      'x-c': '3',
    });
  });
});

describe('requestIdFor', () => {
  test('keeps 1 to 128 visible ASCII characters', () => {
    assert.equal(requestIdFor('abc-123_XYZ:./'), 'abc-123_XYZ:./');
    assert.equal(requestIdFor('x'.repeat(128)), 'x'.repeat(128));
  });

  test('replaces missing, empty, long, spaced, non-ASCII or repeated ids with a UUID', () => {
    for (const bad of [undefined, '', 'x'.repeat(129), 'a b', 'tab\there', 'é', ['a', 'b']]) {
      assert.match(requestIdFor(bad), uuid, JSON.stringify(bad));
    }
  });
});

describe('createProxyTrust', () => {
  test('matches addresses and CIDR ranges of both families, IPv4-mapped included', () => {
    const trusted = createProxyTrust(['10.0.0.0/8', '192.168.1.5', 'fd00::/8', '::1']);
    assert.equal(trusted('10.20.30.40'), true);
    assert.equal(trusted('::ffff:10.1.1.1'), true);
    assert.equal(trusted('192.168.1.5'), true);
    assert.equal(trusted('192.168.1.6'), false);
    assert.equal(trusted('fd12::1'), true);
    assert.equal(trusted('::1'), true);
    assert.equal(trusted('2001:db8::1'), false);
    assert.equal(createProxyTrust([])('10.0.0.1'), false);
  });

  test('normalizeAddress unwraps IPv4-mapped IPv6 only', () => {
    assert.equal(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(normalizeAddress('::ffff:abcd'), '::ffff:abcd');
    assert.equal(normalizeAddress('::1'), '::1');
  });
});

describe('upstreamRequestHeaders', () => {
  const incoming = {
    host: 'shop.example',
    connection: 'keep-alive',
    expect: '100-continue',
    'content-length': '5',
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'edge.example',
    'x-forwarded-port': '443',
    forwarded: 'for=203.0.113.9',
    via: '1.1 edge',
    accept: 'application/json',
  };

  test('from an untrusted peer, replaces the forwarding chain', () => {
    assert.deepEqual(
      upstreamRequestHeaders(incoming, {
        requestId: 'r1',
        clientAddress: '198.51.100.7',
        trusted: false,
        protocol: 'http',
      }),
      {
        'content-length': '5',
        accept: 'application/json',
        'x-forwarded-for': '198.51.100.7',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'shop.example',
        'x-request-id': 'r1',
        via: '1.1 edge, 1.1 switchyard',
      },
    );
  });

  test('from a trusted proxy, appends to the chain and keeps its proto, host and Forwarded', () => {
    const headers = upstreamRequestHeaders(incoming, {
      requestId: 'r1',
      clientAddress: '10.0.0.2',
      trusted: true,
      protocol: 'http',
    });
    assert.equal(headers['x-forwarded-for'], '203.0.113.9, 10.0.0.2');
    assert.equal(headers['x-forwarded-proto'], 'https');
    assert.equal(headers['x-forwarded-host'], 'edge.example');
    assert.equal(headers['x-forwarded-port'], '443');
    assert.equal(headers.forwarded, 'for=203.0.113.9');
  });

  test('without a Host or a peer address', () => {
    const headers = upstreamRequestHeaders(
      {},
      { requestId: 'r2', clientAddress: undefined, trusted: false, protocol: 'https' },
    );
    assert.deepEqual(headers, {
      'x-forwarded-for': 'unknown',
      'x-forwarded-proto': 'https',
      'x-request-id': 'r2',
      via: '1.1 switchyard',
    });
  });
});

test('downstreamResponseHeaders sets the request id and appends Via', () => {
  assert.deepEqual(
    downstreamResponseHeaders(
      {
        'content-type': 'text/plain',
        'x-request-id': 'other',
        via: ['1.0 a', '1.1 b'],
        'transfer-encoding': 'chunked',
      },
      'r1',
    ),
    { 'content-type': 'text/plain', 'x-request-id': 'r1', via: '1.0 a, 1.1 b, 1.1 switchyard' },
  );
});
