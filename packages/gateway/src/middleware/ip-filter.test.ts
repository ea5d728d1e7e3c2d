import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { createProxyTrust } from '../headers.ts';
import type { GatewayContext } from '../middleware.ts';
import { addressMatcher, clientAddressOf, ipFilter } from './ip-filter.ts';

const trusted = createProxyTrust(['10.0.0.0/8', 'fd00::/8']);

function ctxFrom(peer: string | undefined, xff?: string | string[]): GatewayContext {
  const req = { headers: xff === undefined ? {} : { 'x-forwarded-for': xff } } as unknown as IncomingMessage;
  return {
    req,
    clientAddress: peer,
    trustedPeer: peer !== undefined && trusted(peer),
  } as unknown as GatewayContext;
}

describe('clientAddressOf', () => {
  test('an untrusted peer is the client, whatever X-Forwarded-For claims', () => {
    assert.equal(clientAddressOf(ctxFrom('198.51.100.7', '10.1.1.1'), trusted), '198.51.100.7');
  });

  test('behind trusted proxies: the rightmost untrusted hop, never a spoofed leftmost one', () => {
    // The client sent "X-Forwarded-For: 10.9.9.9, 127.0.0.1" itself; the edge proxy appended what it saw.
    const ctx = ctxFrom('10.0.0.2', '10.9.9.9, 127.0.0.1, 203.0.113.9, 10.0.0.3');
    assert.equal(clientAddressOf(ctx, trusted), '203.0.113.9');
    assert.equal(clientAddressOf(ctxFrom('10.0.0.2', ['6.6.6.6', '203.0.113.9']), trusted), '203.0.113.9');
    // Without the trust list only one hop is known: the rightmost entry.
    assert.equal(clientAddressOf(ctx), '10.0.0.3');
  });

  test('ports, brackets and IPv4-mapped addresses are normalised; garbage is no address', () => {
    assert.equal(clientAddressOf(ctxFrom('10.0.0.2', '[2001:db8::7]:443'), trusted), '2001:db8::7');
    assert.equal(clientAddressOf(ctxFrom('10.0.0.2', '203.0.113.9:5000'), trusted), '203.0.113.9');
    assert.equal(clientAddressOf(ctxFrom('fd00::2', '::ffff:198.51.100.1'), trusted), '198.51.100.1');
    assert.equal(clientAddressOf(ctxFrom('10.0.0.2', '1.2.3.4, unknown'), trusted), undefined);
  });

  test('a trusted peer without X-Forwarded-For, or with only trusted hops', () => {
    assert.equal(clientAddressOf(ctxFrom('10.0.0.2'), trusted), '10.0.0.2');
    assert.equal(clientAddressOf(ctxFrom('10.0.0.2', '10.0.0.5, 10.0.0.4'), trusted), '10.0.0.5');
    assert.equal(clientAddressOf(ctxFrom(undefined, '1.2.3.4'), trusted), undefined);
  });
});

describe('addressMatcher', () => {
  test('IPv4 and IPv6 addresses and ranges', () => {
    const inList = addressMatcher(['192.0.2.0/24', '198.51.100.7', '2001:db8::/32', '::1']);
    assert.equal(inList('192.0.2.200'), true);
    assert.equal(inList('192.0.3.1'), false);
    assert.equal(inList('198.51.100.7'), true);
    assert.equal(inList('::ffff:198.51.100.7'), true);
    assert.equal(inList('2001:db8:1::5'), true);
    assert.equal(inList('2001:db9::1'), false);
    assert.equal(inList('::1'), true);
    assert.equal(inList('not-an-ip'), false);
  });
});

describe('ipFilter', () => {
  async function outcome(options: Parameters<typeof ipFilter>[0], ctx: GatewayContext): Promise<string> {
    let reached = false;
    try {
      await ipFilter(options, { isTrusted: trusted })(async () => {
        reached = true;
      })(ctx);
    } catch (err) {
      assert.ok(isSwitchyardError(err, 'SY_GATEWAY_IP_DENIED'), String(err));
      assert.equal(reached, false);
      return 'denied';
    }
    assert.equal(reached, true);
    return 'passed';
  }

  test('deny wins over allow; with an allow list only listed addresses pass', async () => {
    const options = { allow: ['203.0.113.0/24'], deny: ['203.0.113.66'] };
    assert.equal(await outcome(options, ctxFrom('203.0.113.5')), 'passed');
    assert.equal(await outcome(options, ctxFrom('203.0.113.66')), 'denied');
    assert.equal(await outcome(options, ctxFrom('198.51.100.1')), 'denied');
    assert.equal(await outcome({ deny: ['2001:db8::/32'] }, ctxFrom('2001:db8::1')), 'denied');
    assert.equal(await outcome({ deny: ['2001:db8::/32'] }, ctxFrom('2001:db9::1')), 'passed');
  });

  test('a spoofed X-Forwarded-For from an untrusted peer does not get past the allow list', async () => {
    assert.equal(await outcome({ allow: ['203.0.113.0/24'] }, ctxFrom('198.51.100.1', '203.0.113.5')), 'denied');
    assert.equal(await outcome({ allow: ['203.0.113.0/24'] }, ctxFrom('10.0.0.2', '203.0.113.5')), 'passed');
    assert.equal(
      await outcome({ allow: ['203.0.113.0/24'] }, ctxFrom('10.0.0.2', '203.0.113.5, 198.51.100.1')),
      'denied',
    );
  });

  test('an unknown client address is refused', async () => {
    assert.equal(await outcome({ deny: ['192.0.2.1'] }, ctxFrom(undefined)), 'denied');
  });

  test('bad options fail at construction, by path', () => {
    assert.throws(
      () => ipFilter({ allow: ['10.0.0.0/40'] }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /ipFilter\.allow\[0\]/.test(err.message),
    );
  });
});
