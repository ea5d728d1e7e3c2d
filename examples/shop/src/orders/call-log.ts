import type { DatabaseSync } from 'node:sqlite';

/** Per saga step, whether any call of it may have reached the service; see {@link createCallLog}. */
export interface CallLog {
  /** Records, before sending, that an attempt of `step` is about to go out; returns its mark. */
  sending(sagaId: string, step: string): number;
  /** Records that the attempt with this mark certainly never reached the service. */
  notSent(mark: number): void;
  /** True when some attempt of `step` may have reached the service (or crashed mid-way). */
  maybeSent(sagaId: string, step: string): boolean;
}

/**
 * A log of the calls a saga step made, in the orders database, so that a compensation knows
 * when there is certainly nothing to undo.
 *
 * The engine compensates a failed step too, because a call that timed out may have taken
 * effect. But when every attempt failed before anything was sent (no instance registered, a
 * refused connection, an open breaker), the service never heard of the order, and asking it to
 * undo would fail the same way while it is down: the compensation would retry until the
 * saga parks. The mark is written before each attempt (so a crash mid-call counts as "maybe
 * sent") and cleared only when the client says nothing left.
 *
 * @example
 * ```ts
 * const log = createCallLog(db);
 * const mark = log.sending('ord_1', 'charge');
 * log.notSent(mark);
 * log.maybeSent('ord_1', 'charge'); // false
 * ```
 */
export function createCallLog(db: DatabaseSync): CallLog {
  db.exec(`
    CREATE TABLE IF NOT EXISTS saga_calls (
      mark INTEGER PRIMARY KEY AUTOINCREMENT,
      saga_id TEXT NOT NULL,
      step TEXT NOT NULL,
      sent INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS saga_calls_step ON saga_calls (saga_id, step);
  `);
  const insert = db.prepare('INSERT INTO saga_calls (saga_id, step, sent) VALUES (?, ?, 1)');
  const clear = db.prepare('UPDATE saga_calls SET sent = 0 WHERE mark = ?');
  const find = db.prepare('SELECT 1 AS sent FROM saga_calls WHERE saga_id = ? AND step = ? AND sent = 1 LIMIT 1');
  return {
    sending: (sagaId, step) => Number(insert.run(sagaId, step).lastInsertRowid),
    notSent: (mark) => void clear.run(mark),
    maybeSent: (sagaId, step) => find.get(sagaId, step) !== undefined,
  };
}
