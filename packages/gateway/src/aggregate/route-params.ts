import { parseRoutePattern } from '../pattern.ts';
import type { PlanIssue } from './plan.ts';
import { parseTemplate } from './template.ts';

/**
 * Checks that every `{params.<name>}` in the calls' paths names a `:name` segment of the route
 * path, so a typo fails the config instead of every request. Returns one issue per bad
 * reference (none when the route path itself is invalid: that has its own issue).
 *
 * @example
 * ```ts
 * routeParamIssues([{ name: 'user', path: '/users/{params.userId}' }], '/profile/:id');
 * // [{ index: 0, field: 'path', message: '{params.userId} names no parameter of "/profile/:id" (it has: id)' }]
 * ```
 */
export function routeParamIssues(
  calls: readonly { readonly name: string; readonly path: string }[],
  routePath: string,
): PlanIssue[] {
  const pattern = parseRoutePattern(routePath);
  if (!pattern.ok) return [];
  const names = pattern.pattern.segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []));
  const issues: PlanIssue[] = [];
  for (const [index, call] of calls.entries()) {
    const parsed = parseTemplate(call.path);
    if (!parsed.ok) continue;
    for (const ref of parsed.template.refs) {
      if (ref.source === 'params' && !names.includes(ref.name)) {
        issues.push({
          index,
          field: 'path',
          message: `${ref.text} names no parameter of ${JSON.stringify(routePath)} (${names.length === 0 ? 'it has none' : `it has: ${names.join(', ')}`})`,
        });
      }
    }
  }
  return issues;
}
