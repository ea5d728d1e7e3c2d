import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { before, it } from 'node:test';
import { queueNames } from './internal/queue-names.ts';
import { deleteTopology, requireRabbitMq } from './internal/require-rabbitmq.ts';
import { createRabbitMqEventBus } from './rabbitmq-event-bus.ts';

// The README shows the code between the region markers, with this import above it:
// import { createRabbitMqEventBus } from '@switchyard/adapter-rabbitmq';

const source = readFileSync(new URL(import.meta.url), 'utf8');
const readme = new URL('../README.md', import.meta.url);

/** The example as the README quotes it: the regions' lines, indentation removed, a blank line between regions. */
function exampleRegion(): string {
  const regions = [...source.matchAll(/\/\/ #region example\n([\s\S]*?)\n\s*\/\/ #endregion example/g)];
  assert.equal(regions.length, 2, 'the two example regions are in this file');
  return regions.map((match) => dedent(match[1] ?? '')).join('\n\n');
}

function dedent(text: string): string {
  const lines = text.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

before(() => requireRabbitMq());

it('the README example runs against RabbitMQ and prints the redelivery', async (t) => {
  const printed: string[] = [];
  t.mock.method(console, 'log', (line: string) => void printed.push(line));
  let exchange = '';
  try {
    // #region example
    // A random suffix keeps runs of this example apart; a service uses one fixed exchange.
    const suffix = Math.random().toString(36).slice(2, 8);
    const bus = await createRabbitMqEventBus({
      url: 'amqp://guest:guest@127.0.0.1:5672',
      exchange: `shop-${suffix}`,
    });
    // #endregion example
    exchange = bus.options.exchange; // for the cleanup below
    // #region example
    const handled = Promise.withResolvers<void>();
    await bus.subscribe(
      'order.approved',
      async (message) => {
        console.log(`billing: ${message.id} attempt ${message.attempt}, saga ${message.headers['sy-saga-id']}`);
        if (message.attempt === 1) throw new Error('ledger busy'); // redelivered after the backoff
        handled.resolve();
      },
      { group: 'billing', maxDeliveries: 5, backoff: { initial: '200ms', max: '10s' }, ackTimeout: '10s' },
    );

    await bus.publish(
      'order.approved',
      { orderId: 'o-1', total: 42 },
      { id: 'order-o-1-approved', headers: { 'sy-saga-id': 'saga-7' } },
    );
    await handled.promise;
    await bus.close();
    // #endregion example
  } finally {
    if (exchange !== '') {
      const names = queueNames(exchange, 'billing', 'order.approved');
      await deleteTopology(exchange, [names.work, names.retry]);
    }
  }
  assert.deepEqual(printed, [
    'billing: order-o-1-approved attempt 1, saga saga-7',
    'billing: order-o-1-approved attempt 2, saga saga-7',
  ]);
});

it('README.md quotes the example verbatim, with what it prints', () => {
  assert.ok(existsSync(readme), 'adapters/rabbitmq/README.md is missing');
  const text = readFileSync(readme, 'utf8');
  assert.ok(
    text.includes("import { createRabbitMqEventBus } from '@switchyard/adapter-rabbitmq';"),
    'README imports the bus',
  );
  assert.ok(text.includes(exampleRegion()), 'README.md does not quote the example region verbatim');
  assert.ok(
    text.includes(
      'billing: order-o-1-approved attempt 1, saga saga-7\nbilling: order-o-1-approved attempt 2, saga saga-7',
    ),
    'README.md shows what the example prints',
  );
});
