import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openServiceDatabase } from '../database.ts';
import { type App, type AppResponse, appRequest } from '../http/types.ts';
import { createInventoryApp, defaultInventory, type InventoryItem, type Reservation } from './app.ts';

function errorOf(res: AppResponse): { code: string; message: string; field?: string } {
  return (res.body as { error: { code: string; message: string; field?: string } }).error;
}

const seed: InventoryItem[] = [
  { sku: 'SKU-A', name: 'A', price: 1, stock: 3 },
  { sku: 'SKU-B', name: 'B', price: 2, stock: 5 },
];

function stockOf(app: App, sku: string): number {
  return (app.handle(appRequest('GET', `/items/${sku}`)).body as InventoryItem).stock;
}

function reserve(app: App, items: unknown, key?: string): AppResponse {
  const body = { orderId: 'ord_1', items };
  return app.handle(
    appRequest('POST', '/reservations', key === undefined ? { body } : { body, headers: { 'idempotency-key': key } }),
  );
}

describe('inventory app', () => {
  let app: App;
  beforeEach(() => {
    app = createInventoryApp(new DatabaseSync(':memory:'), { instanceId: 'inventory-7', seed, onError: () => {} });
  });

  describe('POST /reservations validation', () => {
    const cases: [string, unknown, string, string][] = [
      ['a missing orderId', { items: [{ sku: 'SKU-A', quantity: 1 }] }, 'orderId', 'orderId: required'],
      [
        'a quantity as a string',
        { orderId: 'o', items: [{ sku: 'SKU-A', quantity: '2' }] },
        'items[0].quantity',
        'items[0].quantity: expected an integer >= 1, got "2"',
      ],
      [
        'a missing sku',
        { orderId: 'o', items: [{ sku: 'SKU-A', quantity: 1 }, { quantity: 1 }] },
        'items[1].sku',
        'items[1].sku: required',
      ],
      [
        'no items',
        { orderId: 'o', items: [] },
        'items',
        'items: expected an array of 1..100 items, got an array of 0 items',
      ],
    ];
    for (const [what, body, field, message] of cases) {
      it(`answers ${what} with 400 naming ${field}`, () => {
        const res = app.handle(appRequest('POST', '/reservations', { body }));
        assert.equal(res.status, 400);
        assert.deepEqual(errorOf(res), { code: 'SY_SHOP_INVALID_REQUEST', message, field });
      });
    }

    it('answers an unknown sku with 400 SY_SHOP_UNKNOWN_SKU naming items[i].sku, reserving nothing', () => {
      const res = reserve(app, [
        { sku: 'SKU-A', quantity: 1 },
        { sku: 'SKU-NOPE', quantity: 1 },
      ]);
      assert.equal(res.status, 400);
      assert.deepEqual(errorOf(res), {
        code: 'SY_SHOP_UNKNOWN_SKU',
        message: 'items[1].sku: no item with SKU "SKU-NOPE"',
        field: 'items[1].sku',
      });
      assert.equal(stockOf(app, 'SKU-A'), 3);
    });
  });

  it('seeds an empty database with the default items', () => {
    const fresh = createInventoryApp(new DatabaseSync(':memory:'), { instanceId: 'i' });
    const res = fresh.handle(appRequest('GET', '/items'));
    assert.equal(res.status, 200);
    const skus = (res.body as { items: InventoryItem[] }).items.map((i) => i.sku);
    assert.deepEqual(skus, defaultInventory.map((i) => i.sku).sort());
    assert.ok(skus.includes('SKU-KEYBOARD'));
  });

  it('answers an unknown item with 404 SY_SHOP_ITEM_NOT_FOUND', () => {
    const res = app.handle(appRequest('GET', '/items/SKU-NOPE'));
    assert.equal(res.status, 404);
    assert.equal(errorOf(res).code, 'SY_SHOP_ITEM_NOT_FOUND');
  });

  it('stamps X-Instance-Id on every answer, errors included', () => {
    for (const res of [
      app.handle(appRequest('GET', '/items')),
      app.handle(appRequest('GET', '/items/SKU-NOPE')),
      app.handle(appRequest('GET', '/nowhere')),
      reserve(app, [{ sku: 'SKU-A', quantity: 1 }], 'k1'),
      reserve(app, [{ sku: 'SKU-A', quantity: 1 }], 'k1'),
    ]) {
      assert.equal(res.headers?.['x-instance-id'], 'inventory-7');
    }
  });

  it('reserves stock with 201 and takes it from the items', () => {
    const res = reserve(app, [
      { sku: 'SKU-A', quantity: 2 },
      { sku: 'SKU-B', quantity: 5 },
    ]);
    assert.equal(res.status, 201);
    const reservation = res.body as Reservation;
    assert.match(reservation.id, /^res_/);
    assert.deepEqual(
      { ...reservation, id: 'x' },
      {
        id: 'x',
        orderId: 'ord_1',
        items: [
          { sku: 'SKU-A', quantity: 2 },
          { sku: 'SKU-B', quantity: 5 },
        ],
        status: 'reserved',
      },
    );
    assert.deepEqual([stockOf(app, 'SKU-A'), stockOf(app, 'SKU-B')], [1, 0]);
    assert.deepEqual(app.handle(appRequest('GET', `/reservations/${reservation.id}`)).body, reservation);
  });

  it('answers too little stock with 409 naming the sku and what is available, reserving nothing', () => {
    const res = reserve(app, [
      { sku: 'SKU-B', quantity: 1 },
      { sku: 'SKU-A', quantity: 4 },
    ]);
    assert.equal(res.status, 409);
    assert.deepEqual(errorOf(res), {
      code: 'SY_SHOP_INSUFFICIENT_STOCK',
      message: 'items[1].quantity: not enough stock for SKU-A: requested 4, available 3',
      field: 'items[1].quantity',
    });
    assert.deepEqual([stockOf(app, 'SKU-A'), stockOf(app, 'SKU-B')], [3, 5]);
  });

  it('counts repeated lines of one sku together', () => {
    const res = reserve(app, [
      { sku: 'SKU-A', quantity: 2 },
      { sku: 'SKU-A', quantity: 2 },
    ]);
    assert.equal(res.status, 409);
    assert.match(errorOf(res).message, /SKU-A: requested 4, available 3$/);
    assert.equal(stockOf(app, 'SKU-A'), 3);
  });

  it('never takes stock below zero when reservations race for the last units', () => {
    // Two orders each want 2 of the 3 units: the first wins, the second is refused whole.
    const results = [1, 2].map(() => reserve(app, [{ sku: 'SKU-A', quantity: 2 }]));
    assert.deepEqual(
      results.map((r) => r.status),
      [201, 409],
    );
    assert.equal(stockOf(app, 'SKU-A'), 1);
    assert.equal(reserve(app, [{ sku: 'SKU-A', quantity: 1 }]).status, 201);
    assert.equal(reserve(app, [{ sku: 'SKU-A', quantity: 1 }]).status, 409);
    assert.equal(stockOf(app, 'SKU-A'), 0);
  });

  it('releases a reservation once: stock comes back once however often it is released', () => {
    const reservation = reserve(app, [{ sku: 'SKU-A', quantity: 2 }]).body as Reservation;
    const release = () => app.handle(appRequest('DELETE', `/reservations/${reservation.id}`));
    const first = release();
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { ...reservation, status: 'released' });
    assert.equal(stockOf(app, 'SKU-A'), 3);
    const second = release();
    assert.equal(second.status, 200);
    assert.equal((second.body as Reservation).status, 'released');
    assert.equal(stockOf(app, 'SKU-A'), 3);
  });

  it('answers releasing an unknown reservation with 404', () => {
    const res = app.handle(appRequest('DELETE', '/reservations/res_nope'));
    assert.equal(res.status, 404);
    assert.equal(errorOf(res).code, 'SY_SHOP_RESERVATION_NOT_FOUND');
  });

  it('reserves once for a repeated Idempotency-Key, twice without one', () => {
    const first = reserve(app, [{ sku: 'SKU-A', quantity: 1 }], 'reserve-ord_1');
    const replay = reserve(app, [{ sku: 'SKU-A', quantity: 1 }], 'reserve-ord_1');
    assert.deepEqual(replay.body, first.body);
    assert.equal(replay.headers?.['idempotent-replayed'], 'true');
    assert.equal(stockOf(app, 'SKU-A'), 2);
    const mismatch = reserve(app, [{ sku: 'SKU-A', quantity: 2 }], 'reserve-ord_1');
    assert.equal(mismatch.status, 422);
    reserve(app, [{ sku: 'SKU-A', quantity: 1 }]);
    reserve(app, [{ sku: 'SKU-A', quantity: 1 }]);
    assert.equal(stockOf(app, 'SKU-A'), 0);
  });
});

describe('inventory instances sharing one database file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shop-inventory-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('seeds once and shares stock, so two instances cannot oversell', () => {
    const dbs = [openServiceDatabase('inventory', dir), openServiceDatabase('inventory', dir)];
    try {
      const [one, two] = dbs.map((db, i) => createInventoryApp(db, { instanceId: `inventory-${i}`, seed })) as [
        App,
        App,
      ];
      assert.equal((two.handle(appRequest('GET', '/items')).body as { items: unknown[] }).items.length, 2);
      assert.equal(reserve(one, [{ sku: 'SKU-A', quantity: 2 }]).status, 201);
      const refused = reserve(two, [{ sku: 'SKU-A', quantity: 2 }]);
      assert.equal(refused.status, 409);
      assert.equal(refused.headers?.['x-instance-id'], 'inventory-1');
      assert.equal(stockOf(one, 'SKU-A'), 1);
      // A key used on one instance is replayed by the other.
      const first = reserve(one, [{ sku: 'SKU-B', quantity: 1 }], 'shared-key');
      const replay = reserve(two, [{ sku: 'SKU-B', quantity: 1 }], 'shared-key');
      assert.deepEqual(replay.body, first.body);
      assert.equal(stockOf(two, 'SKU-B'), 4);
      const journal = dbs[0]?.prepare('PRAGMA journal_mode').get() as { journal_mode: string };
      assert.equal(journal.journal_mode, 'wal');
    } finally {
      for (const db of dbs) db.close();
    }
  });
});
