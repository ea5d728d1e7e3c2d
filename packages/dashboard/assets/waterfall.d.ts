export interface SpanLike {
  spanId: string;
  parentSpanId: string | null;
  service: string;
  name: string;
  startTimeUs: number;
  endTimeUs: number;
  status: { code: string };
}
export interface WaterfallRow<S extends SpanLike = SpanLike> {
  span: S;
  depth: number;
  offsetPct: number;
  widthPct: number;
  startMs: number;
  durationMs: number;
  error: boolean;
  hasChildren: boolean;
}
export interface Waterfall<S extends SpanLike = SpanLike> {
  rows: WaterfallRow<S>[];
  startUs: number;
  totalMs: number;
  services: string[];
}
export const minBarPct: number;
export const serviceColourCount: number;
export function layoutWaterfall<S extends SpanLike>(spans: readonly S[]): Waterfall<S>;
export function timeTicks(totalMs: number, count: number): { ms: number; pct: number }[];
export function serviceColours(services: readonly string[]): Map<string, number>;
