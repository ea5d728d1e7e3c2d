import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/cli`. Codes are public API: never renamed or reused. */
export const cliErrorCodes = {
  SY_CLI_CONFIG_NOT_FOUND: {
    summary: 'The config file named with -c does not exist or cannot be read.',
    retryable: false,
  },
  SY_CLI_CONFIG_SYNTAX: {
    summary: 'The config file is not valid YAML; the message gives file:line:column.',
    retryable: false,
  },
  SY_CLI_CONFIG_VERSION: {
    summary: 'The config declares a `version:` whose major this switchyard does not understand.',
    retryable: false,
  },
  SY_CLI_ENV_MISSING: {
    summary: 'The config references `${NAME}` but NAME is not set and no `${NAME:-default}` was given.',
    retryable: false,
  },
  SY_CLI_SERVICE_FAILED: {
    summary: 'A service process exited or never became healthy while the system was starting.',
    retryable: false,
  },
  SY_CLI_STARTUP_TIMEOUT: {
    summary: 'Not every instance turned healthy within `startupTimeout`.',
    retryable: false,
  },
  SY_CLI_METRICS_LISTEN_FAILED: {
    summary:
      'The `/metrics` listener of `telemetry.metrics` could not bind its host and port (in use, or not permitted).',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link cliErrorCodes}. */
export type CliErrorCode = keyof typeof cliErrorCodes;

/** Creates an error with one of the CLI's codes. */
export const cliError = errorFactory(cliErrorCodes);
