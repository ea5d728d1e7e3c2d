import type { CounterCell } from './internal/counter-family.ts';
import type { MetricContext } from './internal/metric-context.ts';
import { BusConsumeOutcome, type BusConsumerMetrics, type BusMetrics, type BusPublisherMetrics } from './types.ts';

/**
 * Builds the bus group (`bus_*`): `published_total{bus, topic}`,
 * `consumed_total{topic, group, outcome}` and `redelivered_total{topic, group}`. Topics and
 * groups are names in code; the caps (`maxLabelValues` per label) only guard against misuse.
 */
export function createBusMetrics(ctx: MetricContext): BusMetrics {
  const published = ctx.counter('bus_published_total', 'Messages published, by bus and topic.', ['bus', 'topic']);
  const consumed = ctx.counter(
    'bus_consumed_total',
    'Messages handled by a consumer group, by how they were settled.',
    ['topic', 'group', 'outcome'],
  );
  const redelivered = ctx.counter(
    'bus_redelivered_total',
    'Messages delivered again to a consumer group (after a retry, a crash or a timeout).',
    ['topic', 'group'],
  );
  const topics = ctx.bounded('topic', (topic) => {
    const buses = ctx.bounded('bus', (bus): BusPublisherMetrics => {
      const cell = published.child(bus, topic);
      return {
        published(): void {
          cell.value++;
        },
      };
    });
    const groups = ctx.bounded('group', (group): BusConsumerMetrics => {
      const ack = consumed.child(topic, group, BusConsumeOutcome.Ack);
      const retry = consumed.child(topic, group, BusConsumeOutcome.Retry);
      const dead = consumed.child(topic, group, BusConsumeOutcome.DeadLetter);
      const again = redelivered.child(topic, group);
      return {
        consumed(outcome: BusConsumeOutcome): void {
          const cell: CounterCell =
            outcome === BusConsumeOutcome.Ack ? ack : outcome === BusConsumeOutcome.Retry ? retry : dead;
          cell.value++;
        },
        redelivered(): void {
          again.value++;
        },
      };
    });
    return { buses, groups };
  });
  return {
    publisher: (bus, topic) => topics.get(topic).buses.get(bus),
    consumer: (topic, group) => topics.get(topic).groups.get(group),
  };
}
