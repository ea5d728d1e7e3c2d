import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routeParamIssues } from './route-params.ts';

test('every {params.x} must name a parameter of the route path', () => {
  const calls = [
    { name: 'user', path: '/users/{params.id}' },
    { name: 'other', path: '/x/{params.userId}?q={query.userId}' },
  ];
  assert.deepEqual(routeParamIssues(calls, '/profile/:id'), [
    { index: 1, field: 'path', message: '{params.userId} names no parameter of "/profile/:id" (it has: id)' },
  ]);
  assert.deepEqual(routeParamIssues(calls, '/profile'), [
    { index: 0, field: 'path', message: '{params.id} names no parameter of "/profile" (it has none)' },
    { index: 1, field: 'path', message: '{params.userId} names no parameter of "/profile" (it has none)' },
  ]);
  assert.deepEqual(routeParamIssues(calls, '/p/:userId/:id'), []);
});
