import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../', import.meta.url);

/** Package READMEs whose example is a file this test runs; the README must quote it verbatim. */
const examples = [
  { readme: 'packages/core/README.md', file: 'packages/core/examples/config.ts', prints: /did you mean "timeout"/ },
  {
    readme: 'packages/resilience/README.md',
    file: 'packages/resilience/examples/timeout.ts',
    prints: /gave up: operation timed out after 200ms/,
  },
];

describe('README examples', () => {
  for (const { readme, file, prints } of examples) {
    it(`${file} runs, prints what ${readme} says, and is quoted there verbatim`, async () => {
      const source = readFileSync(new URL(file, root), 'utf8');
      assert.ok(
        readFileSync(new URL(readme, root), 'utf8').includes(source.trim()),
        `${readme} does not quote ${file}`,
      );
      const { stdout } = await run(process.execPath, [new URL(file, root).pathname], { timeout: 20_000 });
      assert.match(stdout, prints);
    });
  }
});
