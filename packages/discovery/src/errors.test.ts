import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { discoveryError, discoveryErrorCodes } from './errors.ts';

test('codes follow SY_DISCOVERY_<WHAT> and the factory applies the table', () => {
  for (const [code, spec] of Object.entries(discoveryErrorCodes)) {
    assert.match(code, /^SY_DISCOVERY_[A-Z_]+$/);
    const err = discoveryError(code as keyof typeof discoveryErrorCodes, 'x');
    assert.ok(isSwitchyardError(err, code));
    assert.equal(err.retryable, spec.retryable);
  }
});

test('the README error table lists exactly the codes of the table', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const documented = new Set([...readme.matchAll(/^\| `(SY_DISCOVERY_[A-Z_]+)` *\|/gm)].map((m) => m[1]));
  assert.deepEqual([...documented].sort(), Object.keys(discoveryErrorCodes).sort());
});
