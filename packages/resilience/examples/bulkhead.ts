import { isSwitchyardError } from '@switchyard/core';
import { createBulkhead } from '@switchyard/resilience';

// Two calls at a time, one more may wait; the rest are refused at once.
const bulkhead = createBulkhead({ maxConcurrent: 2, maxQueue: 1, queueTimeout: '1s' });
bulkhead.onRejected(({ reason, active, queued }) =>
  console.log(`refused (${reason}): ${active} running, ${queued} queued`),
);

const report = (name: string) =>
  bulkhead.execute(async ({ signal }) => {
    console.log(`start ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    signal.throwIfAborted();
    return name;
  });

const calls = ['a', 'b', 'c', 'd'].map(report);
console.log('stats:', bulkhead.stats);
for (const outcome of await Promise.allSettled(calls)) {
  if (outcome.status === 'fulfilled') console.log(`done ${outcome.value}`);
  else if (isSwitchyardError(outcome.reason, 'SY_RESILIENCE_BULKHEAD_FULL')) console.log(outcome.reason.code);
}
// start a
// start b
// refused (full): 2 running, 1 queued
// stats: { active: 2, queued: 1 }
// start c
// done a
// done b
// done c
// SY_RESILIENCE_BULKHEAD_FULL
