import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createMemoryRolloutStore } from './memory-store.ts';
import { createSqliteRolloutStore } from './sqlite-store.ts';
import { rolloutStoreContract } from './store-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-rollout-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

rolloutStoreContract('memory', async () => createMemoryRolloutStore(), { describe, it });
rolloutStoreContract('sqlite', async () => createSqliteRolloutStore(join(dir, `store-${n++}.db`)), { describe, it });
