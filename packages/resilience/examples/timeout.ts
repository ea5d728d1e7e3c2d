import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSwitchyardError } from '@switchyard/core';
import { createTimeout } from '@switchyard/resilience';

// An upstream that takes two seconds to answer.
const slow = createServer((_req, res) => setTimeout(() => res.end('late'), 2000).unref());
slow.listen(0, '127.0.0.1');
await new Promise((resolve) => slow.once('listening', resolve));
const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`;

const timeout = createTimeout({ timeout: '200ms' });
try {
  // The policy aborts the signal it hands over, so fetch stops its request too.
  await timeout.execute(({ signal }) => fetch(url, { signal }).then((res) => res.text()));
} catch (err) {
  if (isSwitchyardError(err, 'SY_RESILIENCE_TIMEOUT')) console.log(`gave up: ${err.message}`);
  // gave up: operation timed out after 200ms
}
slow.closeAllConnections();
slow.close();
