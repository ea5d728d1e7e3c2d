import assert from 'node:assert/strict';
import { it } from 'node:test';
import { renderTable } from './status-table.ts';

it('renderTable aligns columns under a header', () => {
  const text = renderTable([
    { service: 'orders', instance: 'orders-1', url: 'http://127.0.0.1:4001', status: 'passing' },
    { service: 'inventory', instance: 'inventory-2', url: 'http://127.0.0.1:4002', status: 'passing' },
  ]);
  assert.equal(
    text,
    [
      '  SERVICE    INSTANCE     URL                    STATUS',
      '  orders     orders-1     http://127.0.0.1:4001  passing',
      '  inventory  inventory-2  http://127.0.0.1:4002  passing',
    ].join('\n'),
  );
});
