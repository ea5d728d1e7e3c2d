/**
 * The one entry point for benchmarks: `npm run bench -- <name> [args]` runs `bench/<name>.bench.ts`
 * (or `bench/<name>/index.ts`). Without a name it lists what there is. Each benchmark runs
 * Switchyard side by side with the peers its issue names and ends with one line per target:
 *
 *     target <what>: <measured> (goal <goal>) PASS|MISS
 *
 * (see `bench/target.ts`); the run exits non-zero when any target is missed.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') || existsSync(join(here, f, 'index.ts')))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name) {
  console.log(available.length ? `benchmarks: ${available.join(', ')}` : 'no benchmarks yet');
  console.log('usage: npm run bench -- <name>');
  process.exit(0);
}
const file = [join(here, `${name}.bench.ts`), join(here, name, 'index.ts')].find((f) => existsSync(f));
if (!file) {
  console.error(`unknown benchmark "${name}"; available: ${available.join(', ') || 'none'}`);
  process.exit(2);
}
// --expose-gc: benchmarks that report heap growth collect garbage before each reading.
const child = spawn(process.execPath, ['--expose-gc', file, ...args], {
  stdio: 'inherit',
  env: {
    ...process.env,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, '--conditions=@switchyard/source'].filter(Boolean).join(' '),
  },
});
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
