import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { BusMessage } from '../bus.ts';
import { immediate } from './sqlite-bus-transaction.ts';

/** A message a member claimed: its log row and the attempt this delivery is. */
export interface ClaimedMessage {
  readonly seq: number;
  readonly message: BusMessage;
  /** Deliveries made to the group so far, this one included. */
  readonly attempt: number;
}

/** A claim request: the group, the member and its limits. */
export interface ClaimRequest {
  readonly topic: string;
  readonly group: string;
  /** The claiming member's id, written as the lease owner. */
  readonly owner: string;
  readonly now: number;
  /** The lease ends at `now + leaseMs`; the message is then claimable again. */
  readonly leaseMs: number;
  readonly limit: number;
  /** A message whose lease ran out on its last delivery is dead-lettered instead of claimed. */
  readonly maxDeliveries: number;
  /** Builds the dead-letter message for a row whose last lease ran out. */
  readonly deadLetter: (claimed: ClaimedMessage) => BusMessage;
}

interface LogRow {
  seq: number;
  attempts: number;
  id: string;
  topic: string;
  payload: string;
  headers: string;
  published_at: number;
}

/**
 * The SQL of the SQLite event bus, on one connection. Every write that must be atomic with
 * another (publish and its fan-out to the groups, a claim, a dead-letter with its removal from
 * the group) runs in one `BEGIN IMMEDIATE` transaction, so processes sharing the file never
 * claim the same message twice under one lease.
 */
export class SqliteBusLog {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #fanOut: StatementSync;
  readonly #ensureGroup: StatementSync;
  readonly #anyDue: StatementSync;
  readonly #due: StatementSync;
  readonly #lease: StatementSync;
  readonly #ack: StatementSync;
  readonly #retry: StatementSync;
  readonly #release: StatementSync;
  readonly #nextDue: StatementSync;
  readonly #prune: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO sy_bus_log (id, topic, payload, headers, published_at) VALUES (?, ?, ?, ?, ?) RETURNING seq',
    );
    this.#fanOut = db.prepare(
      'INSERT INTO sy_bus_deliveries (topic, grp, seq, attempts, available_at) SELECT topic, grp, ?, 0, ? FROM sy_bus_groups WHERE topic = ?',
    );
    this.#ensureGroup = db.prepare(
      `INSERT INTO sy_bus_groups (topic, grp, start_seq, created_at)
       VALUES (?, ?, COALESCE((SELECT MAX(seq) FROM sy_bus_log), 0) + 1, ?) ON CONFLICT DO NOTHING`,
    );
    this.#anyDue = db.prepare(
      'SELECT 1 AS due FROM sy_bus_deliveries WHERE topic = ? AND grp = ? AND available_at <= ? LIMIT 1',
    );
    this.#due = db.prepare(
      `SELECT d.seq, d.attempts, l.id, l.topic, l.payload, l.headers, l.published_at
       FROM sy_bus_deliveries d JOIN sy_bus_log l ON l.seq = d.seq
       WHERE d.topic = ? AND d.grp = ? AND d.available_at <= ? ORDER BY d.seq LIMIT ?`,
    );
    this.#lease = db.prepare(
      'UPDATE sy_bus_deliveries SET attempts = attempts + 1, available_at = ?, lease_owner = ? WHERE topic = ? AND grp = ? AND seq = ?',
    );
    this.#ack = db.prepare('DELETE FROM sy_bus_deliveries WHERE topic = ? AND grp = ? AND seq = ?');
    this.#retry = db.prepare(
      `UPDATE sy_bus_deliveries SET available_at = ?, lease_owner = NULL
       WHERE topic = ? AND grp = ? AND seq = ? AND lease_owner = ? AND attempts = ?`,
    );
    this.#release = db.prepare(
      'DELETE FROM sy_bus_deliveries WHERE topic = ? AND grp = ? AND seq = ? AND lease_owner IS ? AND attempts = ?',
    );
    this.#nextDue = db.prepare('SELECT MIN(available_at) AS at FROM sy_bus_deliveries WHERE topic = ? AND grp = ?');
    this.#prune = db.prepare(
      `DELETE FROM sy_bus_log WHERE published_at < ?
       AND NOT EXISTS (SELECT 1 FROM sy_bus_deliveries d WHERE d.seq = sy_bus_log.seq)`,
    );
  }

  /** Appends `message` and makes it owed to every group of its topic, atomically. */
  publish(message: BusMessage): void {
    immediate(this.#db, () => this.#append(message));
  }

  /** Creates the group if it is new: it is owed every message published from now on. */
  ensureGroup(topic: string, group: string, now: number): void {
    this.#ensureGroup.run(topic, group, now);
  }

  /** True when the group has a message to claim now; a read, so it takes no write lock. */
  hasDue(topic: string, group: string, now: number): boolean {
    return this.#anyDue.get(topic, group, now) !== undefined;
  }

  /**
   * Leases up to `limit` due messages of the group to `owner`, oldest first. Messages whose
   * lease ran out on their last delivery (the member died) go to the dead-letter topic.
   */
  claim(request: ClaimRequest): ClaimedMessage[] {
    const { topic, group, owner, now } = request;
    return immediate(this.#db, () => {
      const claimed: ClaimedMessage[] = [];
      const rows = this.#due.all(topic, group, now, request.limit + 16) as unknown as LogRow[];
      for (const row of rows) {
        if (claimed.length >= request.limit) break;
        if (row.attempts >= request.maxDeliveries) {
          const expired = toClaimed(row, row.attempts);
          this.#ack.run(topic, group, row.seq);
          this.#append(request.deadLetter(expired));
          continue;
        }
        this.#lease.run(now + request.leaseMs, owner, topic, group, row.seq);
        claimed.push(toClaimed(row, row.attempts + 1));
      }
      return claimed;
    });
  }

  /** Acknowledges a delivery: the group owes the message no more. */
  ack(topic: string, group: string, seq: number): void {
    this.#ack.run(topic, group, seq);
  }

  /** Makes a failed delivery due again at `at`, unless the owner lost its lease meanwhile. */
  retry(topic: string, group: string, seq: number, owner: string, attempt: number, at: number): void {
    this.#retry.run(at, topic, group, seq, owner, attempt);
  }

  /**
   * Removes a delivery that failed its last attempt from the group and publishes `letter`,
   * atomically; does nothing if the owner lost its lease meanwhile.
   */
  deadLetter(group: string, claimed: ClaimedMessage, owner: string, letter: BusMessage): boolean {
    return immediate(this.#db, () => {
      const { changes } = this.#release.run(claimed.message.topic, group, claimed.seq, owner, claimed.attempt);
      if (Number(changes) === 0) return false;
      this.#append(letter);
      return true;
    });
  }

  /** When the group's next message becomes claimable (due or its lease ends); undefined when it owes none. */
  nextDue(topic: string, group: string): number | undefined {
    const row = this.#nextDue.get(topic, group) as { at: number | null } | undefined;
    return row?.at ?? undefined;
  }

  /** Deletes messages published before `before` that no group still owes; returns how many. */
  prune(before: number): number {
    return Number(this.#prune.run(before).changes);
  }

  #append(message: BusMessage): void {
    const { seq } = this.#insert.get(
      message.id,
      message.topic,
      JSON.stringify(message.payload),
      JSON.stringify(message.headers),
      message.publishedAt,
    ) as { seq: number };
    this.#fanOut.run(seq, message.publishedAt, message.topic);
  }
}

function toClaimed(row: LogRow, attempt: number): ClaimedMessage {
  const message: BusMessage = Object.freeze({
    id: row.id,
    topic: row.topic,
    payload: JSON.parse(row.payload),
    headers: Object.freeze(JSON.parse(row.headers)),
    publishedAt: row.published_at,
  });
  return { seq: row.seq, message, attempt };
}
