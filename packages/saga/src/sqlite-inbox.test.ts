import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { createSqliteInbox } from './sqlite-inbox.ts';
import { createSqliteOutbox } from './sqlite-outbox.ts';

function setup(clock?: ManualClock) {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE stock (sku TEXT PRIMARY KEY, reserved INTEGER NOT NULL)');
  db.prepare('INSERT INTO stock (sku, reserved) VALUES (?, 0)').run('sku-1');
  const inbox = createSqliteInbox(db, clock ? { clock } : {});
  inbox.migrate();
  const reserve = (database: DatabaseSync) => {
    database.prepare('UPDATE stock SET reserved = reserved + 1 WHERE sku = ?').run('sku-1');
  };
  const reserved = () => db.prepare('SELECT reserved FROM stock').get()?.reserved;
  return { db, inbox, reserve, reserved };
}

describe('sqlite inbox', () => {
  it('runs the effects of a message once and skips its duplicates', () => {
    const { inbox, reserve, reserved } = setup();
    const message = { id: 'm-1', group: 'inventory' };
    assert.equal(inbox.handleOnce(message, reserve), true);
    assert.equal(inbox.handleOnce(message, reserve), false);
    assert.equal(inbox.handleOnce({ ...message }, reserve), false);
    assert.equal(reserved(), 1);
    assert.equal(inbox.has(message), true);
  });

  it('keeps groups apart: each group handles the message once', () => {
    const { inbox, reserve, reserved } = setup();
    assert.equal(inbox.handleOnce({ id: 'm-1', group: 'a' }, reserve), true);
    assert.equal(inbox.handleOnce({ id: 'm-1', group: 'b' }, reserve), true);
    assert.equal(reserved(), 2);
  });

  it('rolls back the effects and the inbox row when the effects throw, so a redelivery runs them', () => {
    const { inbox, reserve, reserved } = setup();
    const message = { id: 'm-1', group: 'inventory' };
    assert.throws(
      () =>
        inbox.handleOnce(message, (db) => {
          reserve(db);
          throw new Error('payment service said no');
        }),
      /payment service said no/,
    );
    assert.equal(reserved(), 0);
    assert.equal(inbox.has(message), false);
    assert.equal(inbox.handleOnce(message, reserve), true);
    assert.equal(reserved(), 1);
  });

  it('refuses asynchronous effects and records nothing', () => {
    const { inbox } = setup();
    const message = { id: 'm-1', group: 'inventory' };
    assert.throws(
      () => inbox.handleOnce(message, (async () => {}) as unknown as () => void),
      (err) => isSwitchyardError(err, 'SY_BUS_INBOX_ASYNC_EFFECTS'),
    );
    assert.equal(inbox.has(message), false);
  });

  it('nests in a transaction of the caller with a savepoint', () => {
    const { db, inbox, reserve, reserved } = setup();
    db.exec('BEGIN');
    assert.equal(inbox.handleOnce({ id: 'm-1', group: 'g' }, reserve), true);
    assert.throws(() =>
      inbox.handleOnce({ id: 'm-2', group: 'g' }, () => {
        throw new Error('no');
      }),
    );
    db.exec('COMMIT');
    assert.equal(reserved(), 1);
    assert.equal(inbox.has({ id: 'm-1', group: 'g' }), true);
    assert.equal(inbox.has({ id: 'm-2', group: 'g' }), false);
  });

  it('commits outbox events added by the effects with them, and only once', () => {
    const { db, inbox, reserve } = setup();
    const outbox = createSqliteOutbox(db);
    outbox.migrate();
    const handle = () =>
      inbox.handleOnce({ id: 'm-1', group: 'inventory' }, (tx) => {
        reserve(tx);
        outbox.add({ topic: 'inventory.reserved', payload: { sku: 'sku-1' } });
      });
    handle();
    handle();
    assert.equal(outbox.pending(), 1);
  });

  it('prunes ids older than the retention', () => {
    const clock = new ManualClock(0);
    const { inbox, reserve } = setup(clock);
    inbox.handleOnce({ id: 'old', group: 'g' }, reserve);
    clock.advance(8 * 24 * 3600_000);
    inbox.handleOnce({ id: 'new', group: 'g' }, reserve);
    assert.equal(inbox.prune(), 1);
    assert.equal(inbox.has({ id: 'old', group: 'g' }), false);
    assert.equal(inbox.has({ id: 'new', group: 'g' }), true);
  });

  it('wraps a SQLite failure in SY_BUS_INBOX_FAILED and runs no effects', () => {
    const db = new DatabaseSync(':memory:');
    const inbox = createSqliteInbox(db); // not migrated
    let ran = false;
    assert.throws(
      () =>
        inbox.handleOnce({ id: 'm', group: 'g' }, () => {
          ran = true;
        }),
      (err) => isSwitchyardError(err, 'SY_BUS_INBOX_FAILED'),
    );
    assert.equal(ran, false);
    assert.equal(db.isTransaction, false);
  });
});
