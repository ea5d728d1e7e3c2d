/**
 * Helpers for this package's telemetry tests (not exported): telemetry with the in-memory span
 * store set up for one test, metrics published globally for one test, and reading the spans
 * and samples back.
 */
import type { TestContext } from 'node:test';
import {
  createMetrics,
  type SpanStore,
  type StoredSpan,
  type SwitchyardMetrics,
  setGlobalMetrics,
  setupTelemetry,
} from '@switchyard/telemetry';

/** Sets telemetry up with the span store only; shut down after the test. */
export function tracing(t: TestContext, serviceName = 'saga-test'): SpanStore {
  const telemetry = setupTelemetry({ serviceName, exporters: { memory: { capacity: 10_000 }, otlp: false } });
  t.after(() => telemetry.shutdown());
  const store = telemetry.spanStore;
  if (store === undefined) throw new Error('span store missing');
  return store;
}

/** Creates metrics and makes them the process's global ones for the test. */
export function metrics(t: TestContext): SwitchyardMetrics {
  const created = createMetrics({ defaultMetrics: false });
  const published = setGlobalMetrics(created);
  t.after(() => published.dispose());
  return created;
}

/** The value of one sample (`name{labels}`) in the exposition, 0 when absent. */
export async function sample(m: SwitchyardMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const text = await m.text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.indexOf('}'));
    const parts = inner.split(',');
    if (wanted.every((w) => parts.includes(w)) && parts.length === wanted.length) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

/** The one span named `name` among `spans` (fails when there is none or several). */
export function one(spans: readonly StoredSpan[], name: string): StoredSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one span "${name}", found ${found.length} among: ${spans.map((s) => s.name).join(', ')}`);
  }
  return found[0] as StoredSpan;
}

/** Polls `condition` until true, failing after `ms` of real time. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}
