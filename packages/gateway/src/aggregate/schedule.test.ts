import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInOrder } from './schedule.ts';

interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const entry = (name: string, dependsOn: string[] = []) => ({ call: { name }, dependsOn });

test('independent calls start together; a dependent starts once its own dependencies settle', async () => {
  const gates = new Map([
    ['user', gate()],
    ['slow', gate()],
  ]);
  const started: string[] = [];
  const run = runInOrder(
    [entry('user'), entry('slow'), entry('orders', ['user']), entry('both', ['orders', 'slow'])],
    async (e, deps) => {
      started.push(`${e.call.name}(${[...deps.entries()].map(([k, v]) => `${k}=${v}`).join(',')})`);
      await gates.get(e.call.name)?.promise;
      return `${e.call.name}-result`;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, ['user()', 'slow()']);
  gates.get('user')?.open();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, ['user()', 'slow()', 'orders(user=user-result)'], 'orders did not wait for slow');
  gates.get('slow')?.open();
  const results = await run;
  assert.deepEqual(started.at(-1), 'both(orders=orders-result,slow=slow-result)');
  assert.deepEqual([...results.keys()].sort(), ['both', 'orders', 'slow', 'user']);
});

test('a plan out of topological order is a programming error', async () => {
  await assert.rejects(
    runInOrder([entry('orders', ['user']), entry('user')], async () => 1),
    /"orders" depends on "user", which is not planned before it/,
  );
});
