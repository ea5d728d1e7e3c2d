export interface ChartBox {
  width: number;
  height: number;
  top: number;
  right: number;
  bottom: number;
  left: number;
}
export interface Point {
  x: number;
  y: number;
}
export interface ChartModel {
  line: string;
  area: string;
  points: Point[];
  /** Points with a gap (or the series end) on both sides, which draw no line. */
  isolated: Point[];
  yMax: number;
  yTicks: { value: number; y: number }[];
  xDomain: [number, number];
}
export function niceCeil(value: number): number;
export function linearScale(
  domain: readonly [number, number],
  range: readonly [number, number],
): (value: number) => number;
export function ticks(max: number, count: number): number[];
export function chartModel(
  series: readonly { t: number; value: number | null }[],
  box: ChartBox,
  options?: { minMax?: number; tickCount?: number },
): ChartModel;
export interface RedPoint {
  t: number;
  requests: number;
  errors: number;
  p99Ms: number | null;
}
export interface SeriesPoint {
  t: number;
  value: number | null;
}
export function redSeries(points: readonly RedPoint[]): {
  rps: SeriesPoint[];
  errorRate: SeriesPoint[];
  p99Ms: SeriesPoint[];
};
