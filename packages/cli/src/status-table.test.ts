import assert from 'node:assert/strict';
import { it } from 'node:test';
import { renderTable } from './status-table.ts';

it('renderTable aligns columns under a header, pid and restarts included', () => {
  const text = renderTable([
    {
      service: 'orders',
      instance: 'orders-1',
      pid: '4242',
      url: 'http://127.0.0.1:4001',
      restarts: '0',
      status: 'passing',
    },
    {
      service: 'inventory',
      instance: 'inventory-2',
      pid: '-',
      url: '-',
      restarts: '5',
      status: 'crash-loop',
    },
  ]);
  assert.equal(
    text,
    [
      '  SERVICE    INSTANCE     URL                    STATUS      PID   RESTARTS',
      '  orders     orders-1     http://127.0.0.1:4001  passing     4242  0',
      '  inventory  inventory-2  -                      crash-loop  -     5',
    ].join('\n'),
  );
});
