import { createMemorySagaStore } from './memory-store.ts';
import { sagaStoreContract } from './testing/store-contract.ts';

sagaStoreContract('memory', async () => {
  const store = createMemorySagaStore();
  return { store, cleanup: () => store.close() };
});
