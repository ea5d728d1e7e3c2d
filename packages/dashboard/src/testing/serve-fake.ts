/**
 * Serves the dashboard with the fake admin API for a look by hand:
 * `node --conditions=@switchyard/source packages/dashboard/src/testing/serve-fake.ts [token]`.
 * Every 3 s it sends an event (a breaker flips, a saga changes) so the page shows live updates.
 */
import { startFakeAdminServer } from './fake-admin-server.ts';

const token = process.argv[2];
const fake = await startFakeAdminServer(token === undefined ? {} : { token });
console.log(`dashboard with the fake admin API at ${fake.url}/${token === undefined ? '' : ` (token ${token})`}`);
let tick = 0;
const timer = setInterval(() => {
  tick++;
  fake.setBreaker('payments', tick % 2 === 0 ? 'closed' : 'open', tick % 2 === 0 ? 0.1 : 0.75);
}, 3000);
process.once('SIGINT', () => {
  clearInterval(timer);
  void fake.close();
});
