import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSwitchyardError } from '@switchyard/core';
import { createRetry, createRetryBudget } from '@switchyard/resilience';

// An upstream that is unavailable for its first two requests.
let requests = 0;
const upstream = createServer((_req, res) => {
  requests += 1;
  res.statusCode = requests <= 2 ? 503 : 200;
  res.end(requests <= 2 ? 'busy' : 'sku-1: 42');
});
upstream.listen(0, '127.0.0.1');
await new Promise((resolve) => upstream.once('listening', resolve));
const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/price`;

// One budget for every retry policy of this client: retries add at most 20% load (plus 10/s).
const budget = createRetryBudget({ ratio: 0.2, minRetriesPerSecond: 10, ttl: '10s' });
const retry = createRetry({
  maxAttempts: 4,
  backoff: { initial: '20ms', max: '1s', jitter: 'none' },
  retryOn: { result: (res) => (res as { status: number }).status >= 500 },
  budget,
});
retry.onRetry(({ attempt, delayMs, result }) => {
  console.log(`attempt ${attempt} in ${delayMs}ms after HTTP ${(result as { status: number }).status}`);
});
const price = await retry.execute(async ({ signal }) => {
  const res = await fetch(url, { signal });
  return { status: res.status, body: await res.text() };
});
console.log(`${price.body} after ${requests} requests`);
// attempt 2 in 20ms after HTTP 503
// attempt 3 in 40ms after HTTP 503
// sku-1: 42 after 3 requests

// A server asking to come back later than maxRetryAfter is not waited for.
const polite = createRetry({ maxRetryAfter: '5s' });
polite.onGiveUp(({ attempts, reason }) => console.log(`gave up after ${attempts} attempt(s): ${reason}`));
try {
  await polite.execute(async () => {
    throw Object.assign(new Error('429 Too Many Requests'), { retryAfterMs: 60_000 });
  });
} catch (err) {
  console.log(`failed: ${(err as Error).message}`);
}
// gave up after 1 attempt(s): retry-after-too-long
// failed: 429 Too Many Requests

// When the budget is spent, the call fails at once instead of adding to the storm.
const tight = createRetry({
  maxAttempts: 5,
  backoff: { initial: 0 },
  budget: createRetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, ttl: '10s' }), // one retry per 10s
});
try {
  await tight.execute(async () => {
    throw new Error('connection refused');
  });
} catch (err) {
  if (isSwitchyardError(err, 'SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED')) {
    console.log(`${err.code}: ${err.message} (cause: ${(err.cause as Error).message})`);
  }
}
// SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED: retry budget exhausted after 2 attempt(s); not retrying (cause: connection refused)
upstream.close();
