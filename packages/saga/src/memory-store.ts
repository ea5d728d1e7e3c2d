import { sagaError } from './errors.ts';
import { listPage } from './saga-list.ts';
import {
  activeSagaStatuses,
  type ClaimRequest,
  type SagaPage,
  type SagaQuery,
  type SagaRecord,
  type SagaStore,
  type SagaTransition,
  type SagaWrite,
} from './store.ts';

/**
 * A {@link SagaStore} in process memory: for tests and for trying a saga out. Nothing
 * survives the process. Records are copied in and out, so callers never share state with it.
 *
 * @example
 * ```ts
 * import { createMemorySagaStore } from '@switchyard/saga';
 *
 * const store = createMemorySagaStore();
 * await store.init();
 * console.log((await store.list()).sagas.length); // 0
 * ```
 */
export function createMemorySagaStore(): SagaStore {
  const sagas = new Map<string, SagaRecord>();
  const histories = new Map<string, SagaTransition[]>();
  let closed = false;

  const open = (): void => {
    if (closed) throw sagaError('SY_SAGA_STORE_CLOSED', 'memory saga store: used after close()');
  };

  return {
    async init() {
      open();
    },
    async create(write: SagaWrite) {
      open();
      const id = write.saga.id;
      if (sagas.has(id)) throw sagaError('SY_SAGA_DUPLICATE_ID', `saga "${id}": already in the store`);
      sagas.set(id, structuredClone(write.saga));
      histories.set(id, structuredClone([...write.transitions]));
    },
    async update(write: SagaWrite, expectedVersion: number) {
      open();
      const id = write.saga.id;
      const current = sagas.get(id);
      if (current === undefined) throw sagaError('SY_SAGA_NOT_FOUND', `saga "${id}": not in the store`);
      if (current.version !== expectedVersion) {
        throw sagaError(
          'SY_SAGA_CONFLICT',
          `saga "${id}": expected version ${expectedVersion}, the store has ${current.version}`,
          { details: { sagaId: id, expectedVersion, version: current.version } },
        );
      }
      sagas.set(id, structuredClone(write.saga));
      histories.get(id)?.push(...structuredClone([...write.transitions]));
    },
    async get(id: string) {
      open();
      const record = sagas.get(id);
      return record === undefined ? undefined : structuredClone(record);
    },
    async history(id: string) {
      open();
      return structuredClone(histories.get(id) ?? []);
    },
    async list(query: SagaQuery = {}): Promise<SagaPage> {
      open();
      return structuredClone(listPage([...sagas.values()], query));
    },
    async claim(request: ClaimRequest) {
      open();
      const names = request.names === undefined ? undefined : new Set(request.names);
      const claimable = [...sagas.values()]
        .filter(
          (s) =>
            activeSagaStatuses.includes(s.status) &&
            (s.owner === undefined || s.leaseUntil === undefined || s.leaseUntil <= request.now) &&
            (names === undefined || names.has(s.name)),
        )
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .slice(0, request.limit);
      return claimable.map((s) => {
        const claimed: SagaRecord = {
          ...s,
          owner: request.owner,
          leaseUntil: request.leaseUntil,
          version: s.version + 1,
        };
        sagas.set(s.id, claimed);
        return structuredClone(claimed);
      });
    },
    async renew(owner: string, ids: readonly string[], leaseUntil: number) {
      open();
      const renewed: string[] = [];
      for (const id of ids) {
        const s = sagas.get(id);
        if (s === undefined || s.owner !== owner) continue;
        sagas.set(id, { ...s, leaseUntil });
        renewed.push(id);
      }
      return renewed;
    },
    async close() {
      closed = true;
    },
  };
}
