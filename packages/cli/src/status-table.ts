/** One row of the status table. */
export interface StatusRow {
  readonly service: string;
  readonly instance: string;
  readonly url: string;
  readonly status: string;
}

/** Renders rows as an aligned plain-text table with a header. */
export function renderTable(rows: readonly StatusRow[]): string {
  const header: StatusRow = { service: 'SERVICE', instance: 'INSTANCE', url: 'URL', status: 'STATUS' };
  const all = [header, ...rows];
  const width = (key: keyof StatusRow) => Math.max(...all.map((r) => r[key].length));
  const w = { service: width('service'), instance: width('instance'), url: width('url') };
  return all
    .map(
      (r) => `  ${r.service.padEnd(w.service)}  ${r.instance.padEnd(w.instance)}  ${r.url.padEnd(w.url)}  ${r.status}`,
    )
    .join('\n');
}
