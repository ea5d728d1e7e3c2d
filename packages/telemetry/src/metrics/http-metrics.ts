import type { CounterCell, CounterFamily } from './internal/counter-family.ts';
import type { GaugeCell } from './internal/gauge-family.ts';
import type { HistogramCell, HistogramFamily } from './internal/histogram-family.ts';
import { METHOD_LABELS, METHOD_STATUS_PAIRS, methodIndex, statusClassIndex } from './internal/http-labels.ts';
import type { MetricContext } from './internal/metric-context.ts';
import { type HttpRouteMetrics, type HttpServerMetrics, STATUS_CLASSES } from './types.ts';

interface Pair {
  readonly count: CounterCell;
  readonly duration: HistogramCell;
}

/** One route's instruments; (method, status class) children are resolved on first use and kept in an array. */
class RouteHandle implements HttpRouteMetrics {
  readonly #route: string;
  readonly #requests: CounterFamily;
  readonly #durations: HistogramFamily;
  readonly #inFlight: GaugeCell;
  readonly #pairs: (Pair | undefined)[] = new Array(METHOD_STATUS_PAIRS).fill(undefined);

  constructor(route: string, requests: CounterFamily, durations: HistogramFamily, inFlight: GaugeCell) {
    this.#route = route;
    this.#requests = requests;
    this.#durations = durations;
    this.#inFlight = inFlight;
  }

  start(): void {
    this.#inFlight.value++;
  }

  end(method: string, status: number, seconds: number): void {
    this.#inFlight.value--;
    this.observe(method, status, seconds);
  }

  observe(method: string, status: number, seconds: number): void {
    const index = methodIndex(method) * STATUS_CLASSES.length + statusClassIndex(status);
    const pair = this.#pairs[index] ?? this.#resolve(index);
    pair.count.value++;
    pair.duration.observe(seconds);
  }

  #resolve(index: number): Pair {
    const method = METHOD_LABELS[Math.floor(index / STATUS_CLASSES.length)] as string;
    const statusClass = STATUS_CLASSES[index % STATUS_CLASSES.length] as string;
    const pair = {
      count: this.#requests.child(this.#route, method, statusClass),
      duration: this.#durations.child(this.#route, method, statusClass),
    };
    this.#pairs[index] = pair;
    return pair;
  }
}

/**
 * Builds the HTTP server group: `http_server_requests_total`, `http_server_request_duration_seconds`
 * ({route, method, status_class}) and `http_server_requests_in_flight` ({route}).
 */
export function createHttpServerMetrics(ctx: MetricContext): HttpServerMetrics {
  const labels = ['route', 'method', 'status_class'];
  const requests = ctx.counter('http_server_requests_total', 'HTTP requests served, by route name.', labels);
  const durations = ctx.histogram(
    'http_server_request_duration_seconds',
    'Time from request received to response finished, in seconds.',
    labels,
    ctx.options.buckets,
  );
  const inFlight = ctx.gauge('http_server_requests_in_flight', 'HTTP requests being served now.', ['route']);
  const routes = ctx.bounded('route', (route) => new RouteHandle(route, requests, durations, inFlight.child(route)));
  return { route: (name) => routes.get(name) };
}
