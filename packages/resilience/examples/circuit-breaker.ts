import { isSwitchyardError } from '@switchyard/core';
import { createCircuitBreaker } from '@switchyard/resilience';

// An in-process dependency that fails its first three calls, then recovers.
let calls = 0;
async function checkInventory(): Promise<string> {
  calls++;
  if (calls <= 3) throw new Error('inventory unavailable');
  return 'in stock';
}

const breaker = createCircuitBreaker({
  name: 'inventory',
  trip: { type: 'consecutive', failures: 3 },
  openDuration: '200ms',
});
breaker.onStateChange(({ from, to, reason }) => console.log(`  ${from} -> ${to} (${reason})`));

async function call(label: string): Promise<void> {
  try {
    console.log(`${label}: ${await breaker.execute(checkInventory)}`);
  } catch (err) {
    if (isSwitchyardError(err, 'SY_RESILIENCE_CIRCUIT_OPEN')) {
      console.log(`${label}: refused without calling, "${err.details.breaker}" is ${err.details.state}`);
    } else {
      console.log(`${label}: failed, ${(err as Error).message}`);
    }
  }
}

for (let i = 1; i <= 5; i++) await call(`call ${i}`);
// After the open period the next call is a probe; its success closes the breaker.
await new Promise((resolve) => setTimeout(resolve, 300));
await call('call 6');
console.log(JSON.stringify(breaker.snapshot().totals));
// call 1: failed, inventory unavailable
// call 2: failed, inventory unavailable
//   closed -> open (tripped)
// call 3: failed, inventory unavailable
// call 4: refused without calling, "inventory" is open
// call 5: refused without calling, "inventory" is open
//   open -> half-open (probe-time)
//   half-open -> closed (probe-succeeded)
// call 6: in stock
// {"successes":1,"failures":3,"ignored":0,"rejected":2}
