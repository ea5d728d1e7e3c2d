import type { Readable } from 'node:stream';

const palette = [36, 33, 35, 32, 34, 91, 96, 93, 95, 92];

/** A stable ANSI colour per name, so each service keeps its colour across runs. */
export function colourFor(name: string): number {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return palette[hash % palette.length] as number;
}

/** Formats `label | ` padded to `width`, in colour when `colour` is on. */
export function prefix(label: string, width: number, colour: boolean): string {
  const padded = `${label.padEnd(width)} | `;
  return colour ? `\u001b[${colourFor(label.replace(/-\d+$/, ''))}m${padded}\u001b[0m` : padded;
}

/**
 * Calls `onLine` for every line of `stream` (without the newline). A partial last line is
 * flushed when the stream ends, so nothing a crashing child printed is lost.
 *
 * @example
 * ```ts
 * pipeLines(child.stdout, (line) => console.log(`orders-1 | ${line}`));
 * ```
 */
export function pipeLines(stream: Readable, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      onLine(stripCr(buffered.slice(0, newline)));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (buffered.length > 0) onLine(stripCr(buffered));
    buffered = '';
  });
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
