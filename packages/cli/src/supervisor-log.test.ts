import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSupervisorLog } from './supervisor-log.ts';

const capture = (format: 'text' | 'json') => {
  const lines: string[] = [];
  const log = createSupervisorLog({ format, write: (text) => lines.push(text), now: () => 0, labelWidth: 10 });
  return { log, lines };
};

describe('supervisor log', () => {
  it('text: instance prefixes and `switchyard:` lines', () => {
    const { log, lines } = capture('text');
    log.child('orders', 'orders-1', 'stdout', 'listening');
    log.log('info', 'orders-1 is healthy (1/1)');
    assert.deepEqual(lines, ['orders-1   | listening\n', 'switchyard: orders-1 is healthy (1/1)\n']);
  });

  it('json: one object per line; a JSON child line is nested as printed, with its pino level', () => {
    const { log, lines } = capture('json');
    log.child('orders', 'orders-1', 'stderr', 'plain "text"');
    log.child('orders', 'orders-1', 'stdout', '{"level":50,"msg":"db down","n":12345678901234567890}');
    log.log('warn', 'orders-1 exited (code 1); restarting in 500ms (restart 1)', {
      service: 'orders',
      instance: 'orders-1',
    });
    log.block('line one\nline two', { gateway: 'http://127.0.0.1:1' });
    for (const line of lines) assert.ok(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'));
    const parsed = lines.map((line) => JSON.parse(line));
    assert.deepEqual(parsed[0], {
      time: '1970-01-01T00:00:00.000Z',
      level: 'info',
      service: 'orders',
      instance: 'orders-1',
      stream: 'stderr',
      msg: 'plain "text"',
    });
    assert.equal(parsed[1].level, 'error');
    assert.equal(parsed[1].msg.msg, 'db down');
    // Nested as-is: the big number keeps its digits in the raw line.
    assert.match(lines[1] ?? '', /"msg":\{"level":50,"msg":"db down","n":12345678901234567890\}\}/);
    assert.deepEqual(parsed[2], {
      time: '1970-01-01T00:00:00.000Z',
      level: 'warn',
      service: 'orders',
      instance: 'orders-1',
      stream: 'supervisor',
      msg: 'orders-1 exited (code 1); restarting in 500ms (restart 1)',
    });
    assert.deepEqual(parsed[3], {
      time: '1970-01-01T00:00:00.000Z',
      level: 'info',
      stream: 'supervisor',
      gateway: 'http://127.0.0.1:1',
      msg: 'line one\nline two',
    });
  });
});
