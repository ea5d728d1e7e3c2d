import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** A reference to an unset variable, with where it was found. */
export interface MissingVariable {
  readonly name: string;
  readonly offset: number;
  /** `env` for `${env:NAME}` (a secret, which takes no default); absent for `${NAME}`. */
  readonly kind?: 'env';
}

/** A `${file:...}` whose file could not be read. */
export interface UnreadableFile {
  /** The path as written. */
  readonly reference: string;
  /** The absolute path tried. */
  readonly path: string;
  /** Why it failed (the system error's message, which names the path, never the content). */
  readonly reason: string;
}

/** Where `${file:...}` paths are resolved and how files are read. */
export interface SubstitutionOptions {
  /** Directory relative `${file:...}` paths are resolved against: the config file's. @default process.cwd() */
  readonly baseDir?: string;
  /** Reads a file as UTF-8. @default fs.readFileSync */
  readonly readFile?: (path: string) => string;
}

/** The outcome of substituting one scalar. */
export interface Substitution {
  readonly value: string;
  /** Variables unset without a default. */
  readonly missing: MissingVariable[];
  /** Values that came from `${env:...}` or `${file:...}`: secrets, never to be printed. */
  readonly secrets: string[];
  /** `${file:...}` references that could not be read. */
  readonly unreadable: UnreadableFile[];
}

const reference = /\$\$|\$\{(?:(env|file):([^}]*)|([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?)\}/g;
const variableName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces references in one scalar; `$$` is a literal `$`:
 *
 * - `${NAME}` and `${NAME:-default}`: an environment variable (empty counts as unset).
 * - `${env:NAME}`: an environment variable holding a secret; it has no default.
 * - `${file:path}`: the content of a file (relative paths from `options.baseDir`), one trailing
 *   newline removed, as secret files written by `echo` or mounted by Kubernetes end in one.
 *
 * Values from `${env:...}` and `${file:...}` are listed in `secrets` so that callers keep them
 * out of every output. Substitution happens per YAML scalar after parsing, so a value can never
 * change the document's structure (a variable holding `a: b` stays a string).
 *
 * @returns the substituted text, unset variables, secret values and unreadable files
 * @example
 * ```ts
 * substituteEnv('Bearer ${env:TOKEN}', { TOKEN: 'abc' }).value; // 'Bearer abc'
 * substituteEnv('${file:secrets/db}', {}, { baseDir: '/etc/app' }); // reads /etc/app/secrets/db
 * ```
 */
export function substituteEnv(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  options: SubstitutionOptions = {},
): Substitution {
  const missing: MissingVariable[] = [];
  const secrets: string[] = [];
  const unreadable: UnreadableFile[] = [];
  const value = text.replace(
    reference,
    (
      match,
      kind: string | undefined,
      target: string | undefined,
      name: string | undefined,
      fallback: string | undefined,
      offset: number,
    ) => {
      if (match === '$$') return '$';
      if (kind === 'env') {
        const variable = (target ?? '').trim();
        const set = variableName.test(variable) ? env[variable] : undefined;
        if (set === undefined || set === '') {
          missing.push({ name: variable, offset, kind: 'env' });
          return '';
        }
        secrets.push(set);
        return set;
      }
      if (kind === 'file') {
        const written = (target ?? '').trim();
        const path = resolve(options.baseDir ?? process.cwd(), written);
        try {
          const content = (options.readFile ?? readUtf8)(path).replace(/\r?\n$/, '');
          secrets.push(content);
          return content;
        } catch (err) {
          unreadable.push({ reference: written, path, reason: err instanceof Error ? err.message : String(err) });
          return '';
        }
      }
      const set = env[name as string];
      if (set !== undefined && set !== '') return set;
      if (fallback !== undefined) return fallback;
      missing.push({ name: name as string, offset });
      return '';
    },
  );
  return { value, missing, secrets, unreadable };
}

function readUtf8(path: string): string {
  return readFileSync(path, 'utf8');
}
