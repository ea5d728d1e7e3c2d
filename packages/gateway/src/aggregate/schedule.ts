/** What {@link runInOrder} needs of a planned call. */
export interface Schedulable {
  readonly call: { readonly name: string };
  readonly dependsOn: readonly string[];
}

/**
 * Runs every call as early as it can: calls without dependencies at once, in parallel; each
 * other call as soon as all the calls it depends on have settled (not when a whole "stage" has).
 * `run` receives the results of the calls it depends on and decides itself whether to send or
 * skip. `run` must not reject; its result is stored under the call's name.
 *
 * @param planned - in a topological order (as `planCalls` returns them)
 * @example
 * ```ts
 * const results = await runInOrder(plan.calls, async (entry, deps) => send(entry, deps));
 * results.get('user');
 * ```
 */
export async function runInOrder<P extends Schedulable, R>(
  planned: readonly P[],
  run: (entry: P, dependencies: ReadonlyMap<string, R>) => Promise<R>,
): Promise<Map<string, R>> {
  const pending = new Map<string, Promise<R>>();
  const results = new Map<string, R>();
  for (const entry of planned) {
    const waits = entry.dependsOn.map((name) => {
      const promise = pending.get(name);
      if (promise === undefined) {
        throw new Error(`call "${entry.call.name}" depends on "${name}", which is not planned before it`);
      }
      return promise.then((result) => [name, result] as const);
    });
    const promise = Promise.all(waits)
      .then((settled) => run(entry, new Map(settled)))
      .then((result) => {
        results.set(entry.call.name, result);
        return result;
      });
    pending.set(entry.call.name, promise);
  }
  await Promise.all(pending.values());
  return results;
}
