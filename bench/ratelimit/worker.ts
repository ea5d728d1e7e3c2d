/**
 * One gateway process of the exact-admission trials: a Redis rate-limit store that fires a
 * burst of decisions on one key when the parent asks over IPC
 * (`{ key, attempts, limit, periodMs }` → `{ admitted, denied, failed }`; `{ close: true }` ends it).
 */
import { createRedisRateLimitStore } from '@switchyard/adapter-redis';

const [url = 'redis://127.0.0.1:6379', keyPrefix = 'switchyard-bench:'] = process.argv.slice(2);
const store = createRedisRateLimitStore({ url, keyPrefix, commandTimeout: '5s' });

interface Fire {
  close?: boolean;
  key: string;
  attempts: number;
  limit: number;
  periodMs: number;
}

process.on('message', async (message: Fire) => {
  if (message.close === true) {
    await store.close();
    process.disconnect();
    return;
  }
  const request = { limit: message.limit, periodMs: message.periodMs };
  const results = await Promise.allSettled(
    Array.from({ length: message.attempts }, () => store.consume(message.key, request)),
  );
  let admitted = 0;
  let denied = 0;
  let failed = 0;
  for (const r of results) {
    if (r.status === 'rejected') failed++;
    else if (r.value.allowed) admitted++;
    else denied++;
  }
  process.send?.({ admitted, denied, failed });
});

await store.consume('warmup', { limit: 1, periodMs: 1 });
process.send?.({ ready: true });
