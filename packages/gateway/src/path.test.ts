import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import fc from 'fast-check';
import { normalizeRequestTarget } from './path.ts';

function rejects(target: string, reason: RegExp): void {
  assert.throws(
    () => normalizeRequestTarget(target),
    (err) => isSwitchyardError(err, 'SY_GATEWAY_BAD_PATH') && reason.test(err.message),
    target,
  );
}

describe('normalizeRequestTarget rejects unsafe paths', () => {
  test('encoded dot segments', () => {
    rejects('/api/orders/%2e%2e/admin', /%2E/);
    rejects('/api/orders/%2E%2E/admin', /%2E/);
    rejects('/api/orders/.%2e/admin', /%2E/);
    rejects('/api/orders/%2e./admin', /%2E/);
    rejects('/api/orders/%2e/admin', /%2E/);
  });

  test('encoded slashes and backslashes, raw backslashes', () => {
    rejects('/api/orders%2F..%2Fadmin', /encoded slash/);
    rejects('/api/orders/a%2fb', /encoded slash/);
    rejects('/api/orders/a%5Cb', /encoded backslash/);
    rejects('/api/orders/..\\admin', /backslash/);
  });

  test('invalid percent-encoding, NUL and control characters', () => {
    rejects('/api/%zz', /invalid percent-encoding "%zz"/);
    rejects('/api/%2', /invalid percent-encoding "%2"/);
    rejects('/api/%', /invalid percent-encoding "%"/);
    rejects('/api/a%00b', /control character \(%00\)/);
    rejects('/api/a\u0000b', /control characters/);
    rejects('/api/a b', /spaces/);
    rejects('/api/a%7F', /control character/);
  });

  test('paths that climb above the root', () => {
    rejects('/..', /above the root/);
    rejects('/api/../..', /above the root/);
    rejects('/api/../../etc/passwd', /above the root/);
    rejects('//..//..', /above the root/);
  });

  test('targets that are not paths, and fragments', () => {
    rejects('*', /must start with "\/"/);
    rejects('api/orders', /must start with "\/"/);
    rejects('', /must start with "\/"/);
    rejects('/api#frag', /fragment/);
  });

  test('the error names the target', () => {
    assert.throws(
      () => normalizeRequestTarget('/a/%2F'),
      (err) =>
        isSwitchyardError(err) && err.message === 'bad request path "/a/%2F": an encoded slash (%2F) is not allowed',
    );
  });
});

describe('normalizeRequestTarget normalises safe paths', () => {
  const cases: Array<[string, string, string]> = [
    ['/', '/', ''],
    ['/api/orders', '/api/orders', ''],
    ['/api/orders/', '/api/orders/', ''],
    ['/api//orders///12', '/api/orders/12', ''],
    ['//api/orders', '/api/orders', ''],
    ['/api/orders/../admin', '/api/admin', ''],
    ['/api/./orders/./12', '/api/orders/12', ''],
    ['/api/orders/12/..', '/api/orders/', ''],
    ['/api/orders/.', '/api/orders/', ''],
    ['/api/..', '/', ''],
    ['/api/%7Euser/%41%62c', '/api/~user/Abc', ''],
    ['/api/file%2Ejson', '/api/file.json', ''],
    ['/api/a%20b/%c3%a9', '/api/a%20b/%C3%A9', ''],
    ['/api/%25zz', '/api/%25zz', ''],
    ['/api/orders?x=%2F&y=../..#', '/api/orders', '?x=%2F&y=../..#'],
    ['/api/orders?', '/api/orders', '?'],
    ['http://shop.example/api/orders?x=1', '/api/orders', '?x=1'],
    ['HTTPS://shop.example:8443', '/', ''],
  ];
  for (const [target, path, query] of cases) {
    test(`${JSON.stringify(target)} → ${JSON.stringify(path + query)}`, () => {
      assert.deepEqual(normalizeRequestTarget(target), { path, query });
    });
  }

  test('the result is a fixed point and never holds a dot or empty segment', () => {
    const segment = fc.oneof(
      fc.constantFrom('.', '..', '', 'api', 'orders', '%41', '%2e', 'a%2Eb', '%7e', '%25', '%C3%A9', '~x'),
      fc.stringMatching(/^[A-Za-z0-9._~-]{1,6}$/),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), (segments) => {
        const target = `/${segments.join('/')}`;
        let normalized: { path: string; query: string };
        try {
          normalized = normalizeRequestTarget(target);
        } catch (err) {
          assert.ok(isSwitchyardError(err, 'SY_GATEWAY_BAD_PATH'));
          return;
        }
        assert.deepEqual(normalizeRequestTarget(normalized.path), normalized);
        const inner = normalized.path.slice(1).split('/').slice(0, -1);
        for (const part of inner) assert.ok(part !== '' && part !== '.' && part !== '..', normalized.path);
        assert.doesNotMatch(normalized.path, /\/\.\.?(\/|$)/);
      }),
    );
  });
});
