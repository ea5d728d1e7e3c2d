/**
 * The terminal form of log lines: pino writes JSON, this turns each record into one line,
 * `12:04:05.123 INFO  gateway  request done  status=200 trace_id=4bf9...`, coloured by level
 * when colours are on. Built in so pretty mode needs no extra package.
 */

/** Where formatted lines go. */
export interface LineSink {
  write(chunk: string): unknown;
}

const levelNames: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const levelColours: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
const omitted = new Set([
  'level',
  'time',
  'msg',
  'component',
  'pid',
  'hostname',
  'err',
  'trace_id',
  'span_id',
  'trace_flags',
]);

function paint(text: string, code: string, colours: boolean): string {
  return colours ? `\u001b[${code}m${text}\u001b[39m` : text;
}

function clock(time: unknown): string {
  const date = typeof time === 'number' ? new Date(time) : new Date();
  return date.toISOString().slice(11, 23);
}

function field(key: string, value: unknown): string {
  const text =
    typeof value === 'string' ? (/[\s"=]/.test(value) ? JSON.stringify(value) : value) : JSON.stringify(value);
  return `${key}=${text}`;
}

/**
 * Formats one pino JSON record as one line (with the error stack on following lines).
 * Input that is not JSON is passed through unchanged.
 *
 * @example
 * ```ts
 * formatPrettyLine('{"level":30,"time":0,"component":"gateway","msg":"up"}', false);
 * // '00:00:00.000 INFO  gateway up\n'
 * ```
 */
export function formatPrettyLine(json: string, colours: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = typeof record.level === 'number' ? record.level : 30;
  const name = (levelNames[level] ?? String(level)).padEnd(5);
  const parts = [paint(clock(record.time), '90', colours), paint(name, levelColours[level] ?? '39', colours)];
  if (typeof record.component === 'string') parts.push(paint(record.component, '1', colours));
  if (record.msg !== undefined) parts.push(String(record.msg));
  const fields: string[] = [];
  for (const key of Object.keys(record)) if (!omitted.has(key)) fields.push(field(key, record[key]));
  // Trace ids last: long, but kept whole so they can be pasted into a trace search.
  if (typeof record.trace_id === 'string')
    fields.push(`trace_id=${record.trace_id}`, `span_id=${String(record.span_id)}`);
  if (fields.length > 0) parts.push(paint(fields.join(' '), '90', colours));
  let line = `${parts.join(' ')}\n`;
  const err = record.err as { type?: string; message?: string; stack?: string; code?: string } | undefined;
  if (err !== undefined && typeof err === 'object') {
    const head = err.code
      ? `${err.code}: ${err.message ?? ''}`
      : (err.stack ?? `${err.type ?? 'Error'}: ${err.message ?? ''}`);
    const stack = err.code && err.stack ? `\n${err.stack}` : '';
    line += `${paint(`  ${head}${stack}`.replaceAll('\n', '\n  '), '31', colours)}\n`;
  }
  return line;
}

/**
 * A pino destination that writes each record to `sink` in the pretty form.
 *
 * @example
 * ```ts
 * pino({}, prettyDestination(process.stdout, true));
 * ```
 */
export function prettyDestination(sink: LineSink, colours: boolean): LineSink {
  return {
    write(chunk: string) {
      let out = '';
      for (const record of chunk.split('\n')) if (record !== '') out += formatPrettyLine(record, colours);
      return sink.write(out);
    },
  };
}
