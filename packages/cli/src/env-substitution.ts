/** A reference to an unset variable, with where it was found. */
export interface MissingVariable {
  readonly name: string;
  readonly offset: number;
}

const reference = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in one scalar; `$$` is a literal `$`.
 * Substitution happens per YAML scalar after parsing, so a value can never change the
 * document's structure (a variable holding `a: b` stays a string).
 *
 * @returns the substituted text and the names that were unset without a default
 */
export function substituteEnv(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): { value: string; missing: MissingVariable[] } {
  const missing: MissingVariable[] = [];
  const value = text.replace(reference, (match, name: string | undefined, fallback: string | undefined, offset) => {
    if (match === '$$') return '$';
    const set = env[name as string];
    if (set !== undefined && set !== '') return set;
    if (fallback !== undefined) return fallback;
    missing.push({ name: name as string, offset: offset as number });
    return '';
  });
  return { value, missing };
}
