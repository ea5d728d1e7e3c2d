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
  SY_CLI_SECRET_FILE_UNREADABLE: {
    summary:
      'The config references `${file:path}` but the file cannot be read; the message names the file and the config field.',
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
  SY_CLI_CRASH_LOOP: {
    summary:
      'An instance crashed more than `restart.crashLoop.restarts` times within `restart.crashLoop.window` and is no longer restarted.',
    retryable: false,
  },
  SY_CLI_INIT_TARGET_EXISTS: {
    summary: '`switchyard init` was pointed at a directory that exists and is not empty.',
    retryable: false,
  },
  SY_CLI_ADMIN_LISTEN_FAILED: {
    summary:
      'The system admin API of `switchyard up` could not bind `admin.host`/`admin.port` (in use, or not permitted).',
    retryable: false,
  },
  SY_CLI_ADMIN_NOT_FOUND: {
    summary: 'The system admin API has no endpoint or file at the requested path.',
    retryable: false,
  },
  SY_CLI_ADMIN_METHOD_NOT_ALLOWED: {
    summary: 'The system admin API endpoint exists but not for this HTTP method.',
    retryable: false,
  },
  SY_CLI_ADMIN_BAD_REQUEST: {
    summary: 'A query parameter or JSON body sent to the system admin API is invalid.',
    retryable: false,
  },
  SY_CLI_ADMIN_INTERNAL: {
    summary: 'A system admin API endpoint failed unexpectedly; the log of `switchyard up` has the cause.',
    retryable: true,
  },
  SY_CLI_ADMIN_UNREACHABLE: {
    summary: '`switchyard saga` could not reach the system admin API (no `switchyard up` running there).',
    retryable: true,
  },
  SY_CLI_SAGAS_NOT_CONFIGURED: {
    summary: 'Sagas were asked of the system admin API, but the config has no `sagas:` section.',
    retryable: false,
  },
  SY_CLI_TRACES_NOT_CONFIGURED: {
    summary: 'Traces were asked of the system admin API, but this system keeps no span store.',
    retryable: false,
  },
  SY_CLI_REGISTRY_UNREACHABLE: {
    summary:
      '`switchyard services` could not read the registry the config names (embedded, Consul, etcd or Kubernetes).',
    retryable: true,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link cliErrorCodes}. */
export type CliErrorCode = keyof typeof cliErrorCodes;

/** Creates an error with one of the CLI's codes. */
export const cliError = errorFactory(cliErrorCodes);
