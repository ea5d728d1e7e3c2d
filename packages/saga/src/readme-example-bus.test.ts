import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { createSqliteEventBus } from '@switchyard/saga';

it('README: billing consumes order.approved through the SQLite log; a poison message is parked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bus-readme-'));
  // Every process that opens this file shares the log.
  const bus = createSqliteEventBus({ path: join(dir, 'bus.db') });

  const billed: string[] = [];
  await bus.subscribe<{ orderId: string }>(
    'order.approved',
    async (message) => {
      if (message.payload.orderId === 'bad') throw new Error('no such customer');
      billed.push(message.payload.orderId);
    },
    { group: 'billing', maxDeliveries: 3, backoff: { initial: '20ms' } },
  );

  // After 3 failed deliveries a message lands here, with why and where it failed.
  const parked: Record<string, string>[] = [];
  await bus.subscribe('dead-letter.order.approved', async (message) => void parked.push({ ...message.headers }), {
    group: 'ops',
  });

  await bus.publish('order.approved', { orderId: 'o-1' }, { headers: { 'sy-saga-id': 'saga-1' } });
  await bus.publish('order.approved', { orderId: 'bad' });

  const deadline = Date.now() + 5_000;
  while (billed.length < 1 || parked.length < 1) {
    assert.ok(Date.now() < deadline, 'timed out waiting for the deliveries');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(billed, ['o-1']);
  assert.equal(parked[0]?.['sy-dead-letter-group'], 'billing');
  assert.equal(parked[0]?.['sy-dead-letter-error'], 'no such customer');
  assert.equal(parked[0]?.['sy-deliveries'], '3');

  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});
