/**
 * Group commit for a synchronous `node:sqlite` connection: writes queued during one turn of
 * the event loop are committed in one `BEGIN IMMEDIATE .. COMMIT`, so concurrent sagas share
 * one fsync. Each write runs under its own savepoint, so one that fails (a version conflict,
 * a duplicate id) is rolled back alone and rejects alone.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** One queued write: `apply` runs inside the batch's transaction and throws to fail it. */
export interface QueuedWrite {
  readonly apply: () => void;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** The queue of one connection; see {@link createGroupCommit}. */
export interface GroupCommit {
  /** Queues `apply`; resolves once it is committed, rejects with what it threw or the commit's failure. */
  enqueue(apply: () => void): Promise<void>;
  /** Commits what is queued now (used by `close()`). */
  flushNow(): void;
}

/**
 * Creates the queue. `failure` wraps a failure of the transaction itself (`BEGIN` or
 * `COMMIT`: the lock was not had in `busy_timeout`, the disk is full); every write of that
 * batch then rejects with it and none is kept.
 */
export function createGroupCommit(
  db: DatabaseSync,
  maxBatch: number,
  failure: (err: unknown, what: string) => Error,
): GroupCommit {
  let queue: QueuedWrite[] = [];
  let scheduled = false;
  let statements: { savepoint: StatementSync; release: StatementSync; rollbackTo: StatementSync } | undefined;

  const prepared = () => {
    statements ??= {
      savepoint: db.prepare('SAVEPOINT sy_write'),
      release: db.prepare('RELEASE sy_write'),
      rollbackTo: db.prepare('ROLLBACK TO sy_write'),
    };
    return statements;
  };

  function commit(batch: QueuedWrite[]): void {
    const { savepoint, release, rollbackTo } = prepared();
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      for (const write of batch) write.reject(failure(err, 'BEGIN IMMEDIATE'));
      return;
    }
    const outcomes: unknown[] = [];
    for (const write of batch) {
      savepoint.run();
      try {
        write.apply();
        release.run();
        outcomes.push(undefined);
      } catch (err) {
        rollbackTo.run();
        release.run();
        outcomes.push(err ?? new Error('write failed'));
      }
    }
    try {
      db.exec('COMMIT');
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      for (const write of batch) write.reject(failure(err, 'COMMIT'));
      return;
    }
    for (const [i, write] of batch.entries()) {
      const outcome = outcomes[i];
      if (outcome === undefined) write.resolve();
      else write.reject(outcome);
    }
  }

  function flushNow(): void {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(maxBatch);
      commit(batch);
    }
  }

  return {
    enqueue(apply) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ apply, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          // setImmediate, not a microtask: the callers resumed by the previous batch queue
          // their next writes in microtasks, and all of them should make this batch.
          setImmediate(flushNow);
        }
      });
    },
    flushNow,
  };
}
