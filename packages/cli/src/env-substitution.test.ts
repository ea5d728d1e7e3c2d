import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { substituteEnv } from './env-substitution.ts';

describe('substituteEnv', () => {
  it('replaces set variables, applies defaults and unescapes $$', () => {
    const { value, missing } = substituteEnv('${A}-${B:-two}-$${A}-${C:-}', { A: 'one' });
    assert.equal(value, 'one-two-${A}-');
    assert.deepEqual(missing, []);
  });

  it('treats an empty variable as unset, as a shell does with :-', () => {
    assert.equal(substituteEnv('${A:-fallback}', { A: '' }).value, 'fallback');
  });

  it('reports unset variables with their offset', () => {
    assert.deepEqual(substituteEnv('x ${NOPE} y', {}).missing, [{ name: 'NOPE', offset: 2 }]);
  });

  it('leaves text without references alone', () => {
    assert.equal(substituteEnv('price: $5 {A}', {}).value, 'price: $5 {A}');
  });
});
