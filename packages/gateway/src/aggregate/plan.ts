import { parseTemplate, type Template } from './template.ts';

/** What {@link planCalls} needs of a call: its name and its path template. */
export interface CallShape {
  readonly name: string;
  readonly path: string;
}

/** A call placed in the plan: its parsed template and the calls it waits for. */
export interface PlannedCall<C extends CallShape = CallShape> {
  readonly call: C;
  /** The call's position in `calls` as configured. */
  readonly index: number;
  readonly template: Template;
  /** Names of the calls whose bodies the template reads, in order of first reference. */
  readonly dependsOn: readonly string[];
}

/** A problem with the calls, reported against `calls[index].<field>`. */
export interface PlanIssue {
  readonly index: number;
  readonly field: 'name' | 'path';
  readonly message: string;
}

/** The result of {@link planCalls}. */
export type PlanResult<C extends CallShape> =
  | { readonly ok: true; readonly calls: readonly PlannedCall<C>[] }
  | { readonly ok: false; readonly issues: readonly PlanIssue[] };

/** Names a call may not take: they are the template roots of the route parameters and the query. */
export const reservedCallNames: readonly string[] = ['params', 'query'];

/**
 * Parses every call's path template and orders the calls as a dependency graph: a call that
 * reads `{user.id}` depends on the call named `user`. Reports every problem: an unparsable
 * template, a duplicate or reserved name, a reference to no call, and each cycle (on the first
 * call of the cycle in configured order).
 *
 * The calls come back in a topological order (a call after everything it depends on), ties
 * kept in configured order.
 *
 * @example
 * ```ts
 * const plan = planCalls([{ name: 'orders', path: '/orders?customer={user.id}' }, { name: 'user', path: '/users/1' }]);
 * if (plan.ok) plan.calls.map((p) => p.call.name); // ['user', 'orders']
 * ```
 */
export function planCalls<C extends CallShape>(calls: readonly C[]): PlanResult<C> {
  const issues: PlanIssue[] = [];
  const byName = new Map<string, number>();
  for (const [index, call] of calls.entries()) {
    if (reservedCallNames.includes(call.name)) {
      issues.push({ index, field: 'name', message: `"${call.name}" is reserved for {${call.name}.<name>} templates` });
    }
    const first = byName.get(call.name);
    if (first !== undefined) {
      issues.push({ index, field: 'name', message: `"${call.name}" is already the name of calls[${first}]` });
    } else byName.set(call.name, index);
  }
  const planned: (PlannedCall<C> | undefined)[] = calls.map((call, index) => {
    const parsed = parseTemplate(call.path);
    if (!parsed.ok) {
      issues.push({ index, field: 'path', message: parsed.message });
      return undefined;
    }
    if (!call.path.startsWith('/')) {
      issues.push({ index, field: 'path', message: `must start with "/", got ${JSON.stringify(call.path)}` });
    }
    if (call.path.includes('#')) {
      issues.push({ index, field: 'path', message: 'must not contain a fragment ("#")' });
    }
    const dependsOn: string[] = [];
    for (const ref of parsed.template.refs) {
      if (ref.source !== 'call' || dependsOn.includes(ref.name)) continue;
      if (!byName.has(ref.name)) {
        const known = calls.map((c) => c.name).filter((name) => name !== call.name);
        issues.push({
          index,
          field: 'path',
          message: `${ref.text} refers to no call (calls: ${known.join(', ') || 'none other'}; route parameters are {params.<name>}, query parameters {query.<name>})`,
        });
        continue;
      }
      dependsOn.push(ref.name);
    }
    return { call, index, template: parsed.template, dependsOn };
  });
  for (const cycle of findCycles(planned, byName)) {
    const names = cycle.map((index) => calls[index]?.name);
    const first = Math.min(...cycle);
    const from = cycle.indexOf(first);
    const ordered = [...names.slice(from), ...names.slice(0, from), calls[first]?.name];
    issues.push({
      index: first,
      field: 'path',
      message:
        cycle.length === 1
          ? `reads its own body ({${calls[first]?.name}.…}); a call can only use earlier results`
          : `the calls depend on each other in a cycle: ${ordered.join(' -> ')}`,
    });
  }
  if (issues.length > 0) return { ok: false, issues: issues.sort((a, b) => a.index - b.index) };
  return { ok: true, calls: topological(planned as PlannedCall<C>[], byName) };
}

/** Each elementary cycle reachable in the graph, once (as the indexes of its calls, in path order). */
function findCycles(planned: readonly (PlannedCall | undefined)[], byName: ReadonlyMap<string, number>): number[][] {
  const state = new Map<number, 'visiting' | 'done'>();
  const stack: number[] = [];
  const cycles: number[][] = [];
  const visit = (index: number): void => {
    state.set(index, 'visiting');
    stack.push(index);
    for (const name of planned[index]?.dependsOn ?? []) {
      const next = byName.get(name);
      if (next === undefined) continue;
      const seen = state.get(next);
      if (seen === 'visiting') cycles.push(stack.slice(stack.indexOf(next)));
      else if (seen === undefined) visit(next);
    }
    stack.pop();
    state.set(index, 'done');
  };
  for (const index of planned.keys()) if (!state.has(index)) visit(index);
  return cycles;
}

function topological<C extends CallShape>(
  planned: readonly PlannedCall<C>[],
  byName: ReadonlyMap<string, number>,
): PlannedCall<C>[] {
  const placed = new Set<number>();
  const order: PlannedCall<C>[] = [];
  while (order.length < planned.length) {
    for (const entry of planned) {
      if (placed.has(entry.index)) continue;
      if (entry.dependsOn.every((name) => placed.has(byName.get(name) as number))) {
        placed.add(entry.index);
        order.push(entry);
        break;
      }
    }
  }
  return order;
}
