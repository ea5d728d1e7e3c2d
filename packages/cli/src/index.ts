/**
 * `@switchyard/cli`: the `switchyard` command, and the same pieces as a library: load and
 * validate a `switchyard.yaml`, and start a whole system from it.
 *
 * @example
 * ```ts
 * import { loadConfigFile, startSystem } from '@switchyard/cli';
 *
 * const system = await startSystem(loadConfigFile('examples/shop/switchyard.yaml'), {
 *   write: (text) => process.stdout.write(text),
 *   colour: false,
 * });
 * console.log(system.gatewayUrl);
 * await system.stop();
 * ```
 *
 * @packageDocumentation
 */

export type { ExitInfo, InstanceSpec, ManagedInstance } from './child-process.ts';
export { ExitCode, runUp, runValidate } from './commands.ts';
export type { ServiceProcessConfig, SwitchyardConfig, SwitchyardConfigInput } from './config-schema.ts';
export { CONFIG_VERSION, serviceProcessSchema, switchyardConfigSchema } from './config-schema.ts';
export type { MissingVariable, Substitution, SubstitutionOptions, UnreadableFile } from './env-substitution.ts';
export { substituteEnv } from './env-substitution.ts';
export type { CliErrorCode } from './errors.ts';
export { cliError, cliErrorCodes } from './errors.ts';
export type { GatewayCommandOptions } from './gateway-command.ts';
export { DEFAULT_ADMIN, runGateway } from './gateway-command.ts';
export type { InitOptions, InitResult } from './init-command.ts';
export { runInit, scaffoldService } from './init-command.ts';
export type { JsonLogger } from './json-logger.ts';
export { createJsonLogger } from './json-logger.ts';
export { JSON_SCHEMA_PATH, switchyardJsonSchema, switchyardJsonSchemaText } from './json-schema.ts';
export type { LoadedConfig } from './load-config.ts';
export { loadConfigFile, parseConfig } from './load-config.ts';
export type { ResolvedRestartOptions, RestartOptions } from './restart-policy.ts';
export { RestartPolicy, restartOptionsSchema } from './restart-policy.ts';
export type { RouteView } from './routes-command.ts';
export { renderRoutes, routeViews, runRoutes } from './routes-command.ts';
export { isSecretField, redactSecrets } from './secrets.ts';
export type { InstanceState, LastExit } from './supervisor.ts';
export { InstanceStateKind } from './supervisor.ts';
export type { SupervisorLog } from './supervisor-log.ts';
export { createSupervisorLog, LogFormat } from './supervisor-log.ts';
export type { RunningSystem, SystemOutput } from './system.ts';
export { startSystem } from './system.ts';
