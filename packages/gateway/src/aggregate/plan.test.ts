import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planCalls } from './plan.ts';

test('independent calls keep their order; a dependent comes after what it reads', () => {
  const plan = planCalls([
    { name: 'orders', path: '/orders?customer={user.customerId}&s={stats.n}' },
    { name: 'user', path: '/users/{params.id}' },
    { name: 'stats', path: '/stats' },
    { name: 'tips', path: '/tips?for={orders.0.id}' },
  ]);
  assert.ok(plan.ok);
  assert.deepEqual(
    plan.calls.map((p) => [p.call.name, p.index, p.dependsOn]),
    [
      ['user', 1, []],
      ['stats', 2, []],
      ['orders', 0, ['user', 'stats']],
      ['tips', 3, ['orders']],
    ],
  );
});

test('a call read twice is one dependency', () => {
  const plan = planCalls([
    { name: 'user', path: '/u' },
    { name: 'x', path: '/x/{user.a}/{user.b}' },
  ]);
  assert.ok(plan.ok);
  assert.deepEqual(plan.calls[1]?.dependsOn, ['user']);
});

test('unknown names, duplicates, reserved names and bad templates are all reported by index and field', () => {
  const plan = planCalls([
    { name: 'user', path: '/u/{usr.id}' },
    { name: 'user', path: 'relative' },
    { name: 'query', path: '/q/{' },
    { name: 'frag', path: '/f#top' },
  ]);
  assert.equal(plan.ok, false);
  if (plan.ok) return;
  assert.deepEqual(
    plan.issues.map((i) => [i.index, i.field]),
    [
      [0, 'path'],
      [1, 'name'],
      [1, 'path'],
      [2, 'name'],
      [2, 'path'],
      [3, 'path'],
    ],
  );
  assert.match(plan.issues[0]?.message ?? '', /^\{usr\.id\} refers to no call \(calls: query, frag;/);
  assert.match(plan.issues[1]?.message ?? '', /"user" is already the name of calls\[0\]/);
  assert.match(plan.issues[2]?.message ?? '', /must start with "\/"/);
  assert.match(plan.issues[3]?.message ?? '', /"query" is reserved/);
  assert.match(plan.issues[4]?.message ?? '', /unclosed "\{"/);
  assert.match(plan.issues[5]?.message ?? '', /fragment/);
});

test('cycles are reported on their first call with the path around them', () => {
  const plan = planCalls([
    { name: 'a', path: '/a' },
    { name: 'b', path: '/b/{c.id}' },
    { name: 'c', path: '/c/{d.id}' },
    { name: 'd', path: '/d/{b.id}' },
    { name: 'self', path: '/s/{self.id}' },
    { name: 'after', path: '/x/{b.id}' },
  ]);
  assert.equal(plan.ok, false);
  if (plan.ok) return;
  assert.deepEqual(
    plan.issues.map((i) => [i.index, i.message]),
    [
      [1, 'the calls depend on each other in a cycle: b -> c -> d -> b'],
      [4, 'reads its own body ({self.…}); a call can only use earlier results'],
    ],
  );
});
