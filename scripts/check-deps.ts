/**
 * Fails when a workspace package imports against the dependency direction: a pure package
 * doing I/O, an inward package importing an outer one, a driver outside `adapters/`, a deep
 * import, an undeclared dependency, an import cycle, or project references out of step.
 *
 * Usage: `node scripts/check-deps.ts [root]`
 */
import { resolve } from 'node:path';
import { checkDependencies } from './check-deps-lib.ts';

const root = resolve(process.argv[2] ?? new URL('..', import.meta.url).pathname);
const violations = checkDependencies(root);
if (violations.length > 0) {
  for (const v of violations) console.error(`${v.file}:${v.line}: ${v.message}`);
  console.error(`check-deps: ${violations.length} violation(s)`);
  process.exit(1);
}
console.log('check-deps: dependency direction ok');
