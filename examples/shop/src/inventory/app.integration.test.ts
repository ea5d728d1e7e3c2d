import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { toNodeHandler } from '../http/node-handler.ts';
import { createInventoryApp, type InventoryItem, instanceIdHeader, type Reservation } from './app.ts';

describe('inventory over HTTP', () => {
  const db = new DatabaseSync(':memory:');
  const seed = [{ sku: 'SKU-A', name: 'A', price: 1, stock: 2 }];
  const app = createInventoryApp(db, { instanceId: 'inventory-a', seed });
  // As main.ts does: the header also covers the adapter's own error answers.
  const server = createServer(toNodeHandler(app, { responseHeaders: { [instanceIdHeader]: 'inventory-a' } }));
  let base: string;
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    db.close();
  });

  const call = (method: string, path: string, body?: string) =>
    fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(5000),
    });

  it('stamps X-Instance-Id on malformed JSON, unknown paths and answers', async () => {
    const malformed = await call('POST', '/reservations', '{');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.headers.get('x-instance-id'), 'inventory-a');
    await malformed.body?.cancel();
    const missing = await call('GET', '/items/SKU-NOPE');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-instance-id'), 'inventory-a');
    await missing.body?.cancel();
  });

  it('reserves, refuses what is not in stock, and releases once', async () => {
    const body = (quantity: number) => JSON.stringify({ orderId: 'ord_1', items: [{ sku: 'SKU-A', quantity }] });
    const refused = await call('POST', '/reservations', body(3));
    assert.equal(refused.status, 409);
    assert.match(
      ((await refused.json()) as { error: { message: string } }).error.message,
      /SKU-A: requested 3, available 2/,
    );
    const reserved = await call('POST', '/reservations', body(2));
    assert.equal(reserved.status, 201);
    const reservation = (await reserved.json()) as Reservation;
    const stock = async () => ((await (await call('GET', '/items/SKU-A')).json()) as InventoryItem).stock;
    assert.equal(await stock(), 0);
    for (let i = 0; i < 2; i++) {
      const released = await call('DELETE', `/reservations/${reservation.id}`);
      assert.equal(released.status, 200);
      assert.equal(((await released.json()) as Reservation).status, 'released');
    }
    assert.equal(await stock(), 2);
  });
});
