/** The part of a service entry the start order reads. */
export interface DependencyEntry {
  readonly dependsOn?: readonly string[] | undefined;
}

/** A problem with `dependsOn`, with its path below `services`. */
export interface DependencyIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * Checks every `services.<name>.dependsOn`: each name must be another service, and following
 * the dependencies must never lead back to where it started. Each cycle is reported once, on
 * the first service of it in the file.
 *
 * @example
 * ```ts
 * dependencyIssues({ a: { dependsOn: ['b'] }, b: { dependsOn: ['a'] } });
 * // [{ path: ['a', 'dependsOn'], message: 'cycle a -> b -> a' }]
 * ```
 */
export function dependencyIssues(services: Readonly<Record<string, DependencyEntry>>): DependencyIssue[] {
  const issues: DependencyIssue[] = [];
  for (const [name, entry] of Object.entries(services)) {
    const seen = new Set<string>();
    for (const [index, dep] of (entry.dependsOn ?? []).entries()) {
      if (!Object.hasOwn(services, dep))
        issues.push({ path: [name, 'dependsOn', index], message: `unknown service ${JSON.stringify(dep)}` });
      else if (seen.has(dep))
        issues.push({ path: [name, 'dependsOn', index], message: `${JSON.stringify(dep)} is listed twice` });
      seen.add(dep);
    }
  }
  const reported = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string, trail: string[]) => {
    if (done.has(name)) return;
    const at = trail.indexOf(name);
    if (at !== -1) {
      const cycle = [...trail.slice(at), name];
      if (!cycle.some((member) => reported.has(member))) {
        for (const member of cycle) reported.add(member);
        issues.push({ path: [name, 'dependsOn'], message: `cycle ${cycle.join(' -> ')}` });
      }
      return;
    }
    for (const dep of services[name]?.dependsOn ?? []) if (Object.hasOwn(services, dep)) visit(dep, [...trail, name]);
    done.add(name);
  };
  for (const name of Object.keys(services)) visit(name, []);
  return issues;
}

/**
 * Groups services into start levels: level 0 depends on nothing, level n only on earlier
 * levels. Stopping walks the levels backwards, so a service stops before what it depends on.
 * Unknown names are ignored; a cycle throws (the config check rejects both first).
 *
 * @example
 * ```ts
 * dependencyLevels({ web: { dependsOn: ['db'] }, db: {}, cache: {} }); // [['db', 'cache'], ['web']]
 * ```
 */
export function dependencyLevels(services: Readonly<Record<string, DependencyEntry>>): string[][] {
  const levels: string[][] = [];
  const placed = new Set<string>();
  let remaining = Object.keys(services);
  while (remaining.length > 0) {
    const level = remaining.filter((name) =>
      (services[name]?.dependsOn ?? []).every((dep) => placed.has(dep) || !Object.hasOwn(services, dep)),
    );
    if (level.length === 0) throw new Error(`dependency cycle among ${remaining.join(', ')}`);
    for (const name of level) placed.add(name);
    levels.push(level);
    remaining = remaining.filter((name) => !placed.has(name));
  }
  return levels;
}
