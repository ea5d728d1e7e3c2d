/** One row of the status table. */
export interface StatusRow {
  readonly service: string;
  readonly instance: string;
  /** Process id, or `-` when it is not running. */
  readonly pid: string;
  readonly url: string;
  /** How many times the supervisor restarted this instance. */
  readonly restarts: string;
  /** `passing` for a healthy instance, else its state (`starting`, `restarting`, `crash-loop`, `stopped`). */
  readonly status: string;
}

const columns = [
  ['service', 'SERVICE'],
  ['instance', 'INSTANCE'],
  ['url', 'URL'],
  ['status', 'STATUS'],
  ['pid', 'PID'],
  ['restarts', 'RESTARTS'],
] as const satisfies ReadonlyArray<readonly [keyof StatusRow, string]>;

/**
 * Renders rows as an aligned plain-text table with a header, indented by two spaces.
 *
 * @example
 * ```ts
 * renderTable([{ service: 'orders', instance: 'orders-1', pid: '4242', url: 'http://127.0.0.1:4001', restarts: '0', status: 'passing' }]);
 * ```
 */
export function renderTable(rows: readonly StatusRow[]): string {
  const header = Object.fromEntries(columns) as unknown as StatusRow;
  const all = [header, ...rows];
  const widths = columns.map(([key]) => Math.max(...all.map((r) => r[key].length)));
  return all
    .map(
      (r) =>
        `  ${columns.map(([key], i) => (i === columns.length - 1 ? r[key] : r[key].padEnd(widths[i] ?? 0))).join('  ')}`,
    )
    .join('\n');
}
