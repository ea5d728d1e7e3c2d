// Two replicas of an "orders" service share the circuit breaker guarding "payments".
// They live in one process here to keep the example short; in production each process
// creates its own store and breaker, with its own replicaId.
import { createRedisBreakerStateStore } from '@switchyard/adapter-redis';
import { createCircuitBreaker } from '@switchyard/resilience';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `example:${process.pid}:`; // keys expire on their own (keyTtl)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const replicas = ['orders-1', 'orders-2'].map((replicaId) => {
  const store = createRedisBreakerStateStore({ url, keyPrefix, keyTtl: '1m' });
  const breaker = createCircuitBreaker({
    name: 'payments',
    trip: { type: 'consecutive', failures: 3 },
    openDuration: '10s',
    shared: { store, replicaId, quorum: { min: 2, ratio: 0.5 }, syncInterval: '200ms' },
  });
  return { replicaId, store, breaker };
});
const [first, second] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];

const payments = async () => {
  throw new Error('payments is down');
};
const failThreeTimes = async (breaker: typeof first.breaker) => {
  for (let i = 0; i < 3; i++) await breaker.execute(payments).catch(() => {});
};

// Wait until both replicas have reported, so the quorum counts two live replicas.
while ((await first.store.read('payments')).replicas < 2) await sleep(50);

await failThreeTimes(first.breaker);
await sleep(500);
console.log(`one replica tripped: the fleet is ${(await first.store.read('payments')).state}`);

await failThreeTimes(second.breaker);
for (let i = 0; i < 40 && first.breaker.state !== 'open'; i++) await sleep(50);
console.log(`both tripped: ${replicas.map((r) => `${r.replicaId} is ${r.breaker.state}`).join(', ')}`);

await first.breaker.execute(payments).catch((err) => console.log(`${first.replicaId} refuses calls: ${err.code}`));

for (const { breaker, store } of replicas) {
  await breaker.close();
  await store.close();
}
