/**
 * Test support (not exported): runs `promtool check metrics` on an exposition. The tests that
 * use it fail, never skip, when promtool is missing, and say how to install it.
 */
import { spawn } from 'node:child_process';

/** How to install promtool on Debian/Ubuntu; CI installs the same package. */
export const INSTALL_PROMTOOL = 'apt-get install prometheus';

/** What promtool said about an exposition: `ok` when it exited 0, with its combined output. */
export interface PromtoolResult {
  readonly ok: boolean;
  readonly output: string;
}

/**
 * Pipes `exposition` into `promtool check metrics`; rejects when promtool cannot be run.
 * Deadline: 10 s, then the child is killed and the promise rejects.
 */
export function promtoolCheckMetrics(
  exposition: string,
  command = process.env.PROMTOOL ?? 'promtool',
): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('promtool check metrics did not finish within 10s'));
    }, 10_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new Error(
          err.code === 'ENOENT'
            ? `promtool was not found (${command}); the metrics lint test needs it and does not skip. Install it with: ${INSTALL_PROMTOOL}`
            : `promtool could not be run: ${err.message}`,
          { cause: err },
        ),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output: output.trim() });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(exposition);
  });
}
