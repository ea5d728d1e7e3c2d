import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { createLogger } from './logger.ts';
import { formatPrettyLine } from './pretty-log.ts';
import { setupTelemetry, type Telemetry } from './setup-telemetry.ts';
import { traced } from './traced.ts';

function capture() {
  const lines: string[] = [];
  return {
    lines,
    records: () =>
      lines.flatMap((chunk) => chunk.split('\n').filter(Boolean)).map((l) => JSON.parse(l) as Record<string, unknown>),
    destination: { write: (chunk: string) => lines.push(chunk) },
  };
}

let telemetry: Telemetry;
before(() => {
  telemetry = setupTelemetry({ serviceName: 'logs' }, {});
});
after(() => telemetry.shutdown());

describe('createLogger', () => {
  it('writes JSON lines with the component; trace_id/span_id inside a span and not outside', async () => {
    const out = capture();
    const log = createLogger({ component: 'gateway', destination: out.destination, env: {} });
    log.info('outside');
    const ids = await traced('request', async (span) => {
      log.info({ route: 'orders' }, 'inside');
      await new Promise((resolve) => setImmediate(resolve));
      log.warn('still inside after await');
      return span.spanContext();
    });
    log.info('outside again');

    const [outside, inside, later, again] = out.records();
    assert.equal(outside?.component, 'gateway');
    assert.equal(outside?.msg, 'outside');
    assert.equal(outside?.trace_id, undefined);
    assert.equal(outside?.span_id, undefined);
    assert.equal(inside?.trace_id, ids.traceId);
    assert.equal(inside?.span_id, ids.spanId);
    assert.equal(inside?.trace_flags, '01');
    assert.equal(inside?.route, 'orders');
    assert.equal(later?.trace_id, ids.traceId);
    assert.equal(again?.trace_id, undefined);
  });

  it('picks each component level from SWITCHYARD_LOG_LEVEL, the option winning', () => {
    const env = { SWITCHYARD_LOG_LEVEL: 'warn,gateway=debug,saga=error' };
    const out = capture();
    const gateway = createLogger({ component: 'gateway', destination: out.destination, env });
    const saga = createLogger({ component: 'saga.outbox', destination: out.destination, env });
    const other = createLogger({ component: 'discovery', destination: out.destination, env });
    const forced = createLogger({ component: 'saga', level: 'trace', destination: out.destination, env });
    const fromSpec = createLogger({ component: 'mesh', level: 'info,mesh=debug', destination: out.destination, env });
    assert.deepEqual(
      [gateway.level, saga.level, other.level, forced.level, fromSpec.level],
      ['debug', 'error', 'warn', 'trace', 'debug'],
    );
    gateway.debug('g');
    saga.warn('dropped');
    saga.error('kept');
    other.info('dropped');
    other.warn('w');
    assert.deepEqual(
      out.records().map((r) => r.msg),
      ['g', 'kept', 'w'],
    );
    assert.equal(createLogger({ component: 'x', destination: out.destination, env: {} }).level, 'info');
  });

  it('rejects bad options naming the field', () => {
    const bad = [
      [() => createLogger({ component: '' }), 'logger.component'],
      [() => createLogger({ component: 'x', level: 'loud', env: {} }), 'logger.level'],
      [() => createLogger({ component: 'x', env: { SWITCHYARD_LOG_LEVEL: 'verbose' } }), 'SWITCHYARD_LOG_LEVEL'],
      [() => createLogger({ component: 'x', destination: {} as never }), 'logger.destination'],
    ] as const;
    for (const [fn, path] of bad) {
      assert.throws(
        fn,
        (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes(path),
        path,
      );
    }
  });

  it('pretty mode writes one readable line per record, coloured on request', () => {
    const out = capture();
    const log = createLogger({ component: 'saga', pretty: true, colors: false, destination: out.destination, env: {} });
    traced('step', () => log.info({ sagaId: 's-1', note: 'two words' }, 'step done'));
    log.error({ err: new Error('boom') }, 'failed');
    const text = out.lines.join('');
    const [first, second] = text.split('\n');
    assert.match(
      first ?? '',
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}saga step done sagaId=s-1 note="two words" trace_id=[0-9a-f]{32} span_id=[0-9a-f]{16}$/,
    );
    assert.match(second ?? '', /^\d\d:\d\d:\d\d\.\d{3} ERROR saga failed$/);
    assert.match(text, /\n {2}Error: boom\n {6}at /);
    assert.ok(!text.includes('\u001b['), 'no ANSI escapes');

    const coloured = capture();
    createLogger({ component: 'saga', pretty: true, colors: true, destination: coloured.destination, env: {} }).warn(
      'careful',
    );
    assert.ok(coloured.lines.join('').includes('\u001b[33mWARN '), 'WARN in yellow');
  });

  it('the pretty formatter passes through what is not JSON', () => {
    assert.equal(formatPrettyLine('not json', false), 'not json');
    assert.equal(
      formatPrettyLine('{"level":30,"time":0,"component":"c","msg":"m"}', false),
      '00:00:00.000 INFO  c m\n',
    );
  });
});
