import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSwitchyardError } from '@switchyard/core';
import { createFallback, createRetry, createTimeout, wrap } from '@switchyard/resilience';

// An upstream whose first two requests hang; later ones are answered at once.
let requests = 0;
const upstream = createServer((_req, res) => {
  requests += 1;
  if (requests > 2) res.end(`answer to request ${requests}`);
});
upstream.listen(0, '127.0.0.1');
await new Promise((resolve) => upstream.once('listening', resolve));
const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
const get = async (signal: AbortSignal) => (await fetch(url, { signal })).text();

// The first policy is outermost. Each attempt gets 100ms, all attempts together 1s.
const perAttempt = wrap(
  createTimeout({ timeout: '1s' }),
  createRetry({ maxAttempts: 3, backoff: { initial: '10ms', jitter: 'none' } }),
  createTimeout({ timeout: '100ms' }),
);
const answer = await perAttempt.execute(({ signal, attempt }) => {
  console.log(`attempt ${attempt}`);
  return get(signal);
});
console.log(answer);
// attempt 1
// attempt 2
// attempt 3
// answer to request 3

// The other way round: one 100ms deadline for all attempts, and the first attempt spends it.
requests = 0;
const oneDeadline = wrap(createTimeout({ timeout: '100ms' }), createRetry({ maxAttempts: 3 }));
try {
  await oneDeadline.execute(({ signal }) => get(signal));
} catch (err) {
  if (isSwitchyardError(err, 'SY_RESILIENCE_TIMEOUT')) console.log(`${err.code} after ${requests} request(s)`);
}
// SY_RESILIENCE_TIMEOUT after 1 request(s)

// A fallback outermost turns what fails inside (timeouts, refusals) into a default.
requests = 0;
const withDefault = wrap(createFallback('default answer'), oneDeadline);
console.log(await withDefault.execute(({ signal }) => get(signal)));
// default answer
upstream.closeAllConnections();
upstream.close();
