import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';

describe('systemClock timers and the process', () => {
  it('an unref timer lets the process exit; a ref timer keeps it alive until it fires', async () => {
    const script = (ref: boolean) =>
      `import('@switchyard/core').then(({ systemClock }) => systemClock.setTimeout(() => console.log('fired'), 200, { ref: ${ref} }))`;
    const run = (ref: boolean) =>
      new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ['-e', script(ref)], { timeout: 10_000 }, (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        ),
      );
    assert.equal(await run(false), '', 'unref: exits before the timer fires');
    assert.equal(await run(true), 'fired\n', 'ref: waits for the timer');
  });
});
