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
    readme: 'packages/discovery/README.md',
    file: 'packages/discovery/examples/watch.ts',
    prints: /^true\ncarts-1, carts-2\ncarts-1, carts-2, carts-3\n\{ fresh: true/,
  },
  {
    readme: 'packages/resilience/README.md',
    file: 'packages/resilience/examples/timeout.ts',
    prints: /gave up: operation timed out after 200ms/,
  },
  {
    readme: 'packages/resilience/README.md',
    file: 'packages/resilience/examples/circuit-breaker.ts',
    prints: /call 4: refused without calling, "inventory" is open[\s\S]*call 6: in stock/,
  },
  {
    readme: 'packages/resilience/README.md',
    file: 'packages/resilience/examples/retry.ts',
    prints: /sku-1: 42 after 3 requests/,
  },
  {
    readme: 'packages/resilience/README.md',
    file: 'packages/resilience/examples/bulkhead.ts',
    prints: /stats: \{ active: 2, queued: 1 \}[\s\S]*SY_RESILIENCE_BULKHEAD_FULL/,
  },
  {
    readme: 'packages/resilience/README.md',
    file: 'packages/resilience/examples/composition.ts',
    prints: /answer to request 3[\s\S]*SY_RESILIENCE_TIMEOUT after 1 request\(s\)[\s\S]*default answer/,
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
