/**
 * `SwitchyardError`: the one error class every package throws, with a stable `code`.
 *
 * Identity survives duplicate installs: instances carry a `Symbol.for` brand that a static
 * `Symbol.hasInstance` reads, so `err instanceof SwitchyardError` holds even when two copies
 * of `@switchyard/core` are loaded. Users should prefer matching on `code`.
 */

const brand = Symbol.for('switchyard.error');

/** A JSON-safe value, for `details`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Options accepted by the {@link SwitchyardError} constructor. */
export interface SwitchyardErrorOptions {
  /** The underlying error, kept for diagnosis; never serialised. */
  cause?: unknown;
  /** JSON-safe facts about the failure (the field, the bad value, the instance). */
  details?: Record<string, JsonValue>;
  /** Whether repeating the same operation may succeed. @default false */
  retryable?: boolean;
}

/** The serialised form of a {@link SwitchyardError}, as stored or sent over the wire. */
export interface SwitchyardErrorJSON {
  code: string;
  message: string;
  details?: Record<string, JsonValue>;
  retryable?: boolean;
}

/**
 * An error with a stable, public `code` of the form `SY_<AREA>_<WHAT>`.
 *
 * @example
 * ```ts
 * throw new SwitchyardError('SY_CONFIG_INVALID', 'gateway.port: expected an integer, got "x"');
 * ```
 */
export class SwitchyardError<Code extends string = string> extends Error {
  override readonly name: string = 'SwitchyardError';
  readonly code: Code;
  readonly details: Record<string, JsonValue>;
  readonly retryable: boolean;

  constructor(code: Code, message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? false;
    Object.defineProperty(this, brand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  /** `{ code, message, details, retryable }`, without the stack or the cause. */
  toJSON(): SwitchyardErrorJSON {
    const json: SwitchyardErrorJSON = { code: this.code, message: this.message };
    if (Object.keys(this.details).length > 0) json.details = this.details;
    if (this.retryable) json.retryable = true;
    return json;
  }

  /** Restores an error serialised with {@link SwitchyardError.toJSON}. */
  static fromJSON(json: SwitchyardErrorJSON): SwitchyardError {
    const options: SwitchyardErrorOptions = { retryable: json.retryable ?? false };
    if (json.details !== undefined) options.details = json.details;
    return new SwitchyardError(json.code, json.message, options);
  }
}

/**
 * True when `value` is a {@link SwitchyardError}, optionally with the given code.
 *
 * @example
 * ```ts
 * if (isSwitchyardError(err, 'SY_CANCELLED')) return;
 * ```
 */
export function isSwitchyardError<Code extends string>(value: unknown, code?: Code): value is SwitchyardError<Code> {
  return value instanceof SwitchyardError && (code === undefined || value.code === code);
}

/** One row of a package's code table. */
export interface ErrorCodeSpec {
  /** One-line meaning, also used in `docs/errors.md`. */
  readonly summary: string;
  /** Whether the failure is worth retrying by default. */
  readonly retryable: boolean;
}

/**
 * Builds a typed factory for a package's code table, so each package declares its codes once.
 *
 * @example
 * ```ts
 * const codes = { SY_DEMO_BROKEN: { summary: 'It broke.', retryable: false } } as const;
 * const demoError = errorFactory(codes);
 * throw demoError('SY_DEMO_BROKEN', 'the thing broke', { details: { thing: 'x' } });
 * ```
 */
export function errorFactory<Table extends Record<string, ErrorCodeSpec>>(table: Table) {
  return (code: keyof Table & string, message: string, options: SwitchyardErrorOptions = {}) =>
    new SwitchyardError(code, message, { retryable: table[code]?.retryable ?? false, ...options });
}
