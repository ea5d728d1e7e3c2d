/**
 * Runs the whole test suite from source: unit tests beside the code, integration tests,
 * the scripts' own tests and the end-to-end tests. Node strips the types; the
 * `@switchyard/source` export condition makes workspace packages resolve to their `src/`,
 * and NODE_OPTIONS carries it into every child process the tests start.
 *
 * Usage: `node scripts/test.ts [extra node --test arguments or file globs]`
 */
import { spawn } from 'node:child_process';

const globs = [
  'packages/*/src/**/*.test.ts',
  'adapters/*/src/**/*.test.ts',
  'examples/*/src/**/*.test.ts',
  'scripts/**/*.test.ts',
  'test/e2e/**/*.test.ts',
];
const extra = process.argv.slice(2);
const files = extra.filter((a) => !a.startsWith('-'));
const flags = extra.filter((a) => a.startsWith('-'));
const args = [
  '--test',
  '--test-reporter=spec',
  '--test-concurrency=2',
  '--test-timeout=120000',
  ...flags,
  ...(files.length > 0 ? files : globs),
];
const child = spawn(process.execPath, args, {
  stdio: 'inherit',
  env: {
    ...process.env,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, '--conditions=@switchyard/source'].filter(Boolean).join(' '),
  },
});
child.on('exit', (code, signal) => {
  process.exit(signal ? 1 : (code ?? 1));
});
