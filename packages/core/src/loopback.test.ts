import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost } from './loopback.ts';

describe('isLoopbackHost', () => {
  it('accepts addresses only this machine can reach', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
  });
  it('refuses wildcards, other addresses and names', () => {
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '192.168.1.5',
      'example.com',
      '127.0.0.1.nip.io',
      '::ffff:10.0.0.1',
      '127.0.0.256',
    ]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});
