import assert from 'node:assert/strict';
import { it } from 'node:test';
import { envoyDuration, escapeRegex } from './envoy-json.ts';

it('writes milliseconds as proto3 JSON Durations', () => {
  assert.equal(envoyDuration(0), '0s');
  assert.equal(envoyDuration(250), '0.25s');
  assert.equal(envoyDuration(30_000), '30s');
  assert.equal(envoyDuration(1), '0.001s');
  assert.equal(envoyDuration(90_500), '90.5s');
});

it('escapes regex metacharacters of a path prefix', () => {
  assert.equal(escapeRegex('/api/v1.0/(x)'), '/api/v1\\.0/\\(x\\)');
  assert.ok(new RegExp(`^${escapeRegex('/a+b')}$`).test('/a+b'));
});
