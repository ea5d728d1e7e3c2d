#!/usr/bin/env node
import { Command, Option } from 'commander';
import { runUp, runValidate } from './commands.ts';
import { runGateway } from './gateway-command.ts';
import { runInit } from './init-command.ts';
import { type MeshEnvoyOptions, runMeshEnvoy } from './mesh-envoy-command.ts';
import { type MeshIstioOptions, runMeshIstio } from './mesh-istio-command.ts';
import { registerRolloutCommands } from './rollout-command.ts';
import { runRoutes } from './routes-command.ts';
import { registerSagaCommands } from './saga-command.ts';
import { runServices } from './services-command.ts';
import type { LogFormat } from './supervisor-log.ts';

const program = new Command()
  .name('switchyard')
  .description('Run and operate a Switchyard system described by switchyard.yaml')
  .showHelpAfterError()
  .addHelpText(
    'after',
    '\nExit codes: 0 success, 1 failure (also an unknown command or option), 2 config missing or invalid.\nEach command lists its own: switchyard <command> --help',
  );

program
  .command('up')
  .description(
    'start the registry, the gateway and every service (in dependsOn order, restarted by their restart policy); Ctrl-C stops them all',
  )
  .option('-c, --config <file>', 'config file', 'switchyard.yaml')
  .option('--ready-file <file>', 'when healthy, write the gateway/registry URLs and instances there as JSON')
  .addOption(
    new Option('--log-format <format>', 'text (prefixed lines) or json (one object per line)').choices([
      'text',
      'json',
    ]),
  )
  .addHelpText(
    'after',
    '\nLogs: text on a terminal, JSON lines when stdout is not a terminal (override with --log-format).\nExit codes: 0 stopped cleanly, 1 start-up failed (an instance exited, crash-looped or was not healthy in time), 2 config invalid.',
  )
  .action(async (opts: { config: string; readyFile?: string; logFormat?: LogFormat }) => {
    process.exitCode = await runUp(opts);
  });

program
  .command('routes')
  .description('print the gateway routes of the config: path, methods, hosts, target, timeout, retry, middleware')
  .option('-c, --config <file>', 'config file', 'switchyard.yaml')
  .option('--json', 'print JSON instead of a table')
  .addHelpText('after', '\nExit codes: 0 printed, 2 config missing or invalid.')
  .action((opts: { config: string; json?: boolean }) => {
    process.exitCode = runRoutes(opts);
  });

program
  .command('services')
  .description(
    "list each service's instances and health from the registry the config names (embedded, consul, etcd, kubernetes)",
  )
  .option('-c, --config <file>', 'config file', 'switchyard.yaml')
  .option('--json', 'print JSON instead of a table')
  .option('--registry <url>', "read this registry instead of the config's (http://host:port, etcd://host:port/prefix/)")
  .option('--timeout <duration>', 'how long to wait for the registry', '5s')
  .addHelpText('after', '\nExit codes: 0 listed, 1 registry unreachable, 2 config missing or invalid.')
  .action(async (opts: { config: string; json?: boolean; registry?: string; timeout: string }) => {
    process.exitCode = await runServices(opts);
  });

program
  .command('init')
  .description('scaffold a new service (package.json, src/main.ts, a test, README) and print its services: entry')
  .argument('<name>', 'service name (letters, digits, "-", "_", ".")')
  .option('--dir <dir>', 'directory to create (default: ./<name>); must not exist or be empty')
  .addHelpText('after', '\nExit codes: 0 created, 2 invalid name or directory not empty (nothing written).')
  .action((name: string, opts: { dir?: string }) => {
    process.exitCode = runInit({ name, dir: opts.dir });
  });

program
  .command('gateway')
  .description('run the gateway alone, with its admin API; SIGHUP re-reads the config, Ctrl-C stops it')
  .option('-c, --config <file>', 'config file', 'switchyard.yaml')
  .option(
    '--registry <url>',
    'Consul-compatible registry for service routes (default: $SWITCHYARD_REGISTRY_URL, or the registry: section)',
  )
  .option('--no-admin', 'run without the admin API (default: gateway.admin, or 127.0.0.1:9901)')
  .action(async (opts: { config: string; registry?: string; admin: boolean }) => {
    process.exitCode = await runGateway(opts);
  });

program
  .command('validate')
  .description('check a config file and print every problem with its position')
  .option('-c, --config <file>', 'config file', 'switchyard.yaml')
  .action((opts: { config: string }) => {
    process.exitCode = runValidate(opts);
  });

const mesh = program.command('mesh').description('generate and check service-mesh configuration');

mesh
  .command('envoy')
  .description("print an Envoy v3 bootstrap (front proxy or sidecar) for the config, checked against Envoy's protos")
  .option('-c, --config <file>', 'config file', 'switchyard.yaml')
  .option('--mode <mode>', 'front-proxy or sidecar', 'front-proxy')
  .option('--eds <host:port>', 'clusters take endpoints by EDS over ADS from this xDS server')
  .option('--registry <url>', 'Consul-compatible registry to read static endpoints from')
  .option('--service <name>', 'the service a sidecar runs next to (--mode sidecar)')
  .option('--app-port <port>', "the sidecar's service port, which inbound traffic goes to", '8080')
  .option('--health-path <path>', 'add an HTTP health check on this path to every service cluster')
  .option('--check <file>', 'validate this Envoy config (YAML or JSON) instead of generating one')
  .option('-o, --output <file>', 'write to a file instead of stdout')
  .option('--format <format>', 'yaml or json', 'yaml')
  .action(async (opts: MeshEnvoyOptions) => {
    process.exitCode = await runMeshEnvoy(opts);
  });

mesh
  .command('istio')
  .description('print Istio resources (VirtualService, DestinationRule, mTLS policies) for the config, or apply them')
  .option('-c, --config <file>', 'config file', 'switchyard.yaml')
  .option('--namespace <ns>', 'namespace of the services and the resources', 'default')
  .option('--mtls', 'add STRICT PeerAuthentication, AuthorizationPolicies allowing the gateway, ISTIO_MUTUAL')
  .option('--gateway-host <host>', 'also route this external host through an Istio Gateway')
  .option('--gateway-service-account <[ns/]sa>', 'the principal AuthorizationPolicies allow', 'switchyard-gateway')
  .option('-o, --output <format>', 'yaml or json', 'yaml')
  .option('--out <dir>', 'write one file per resource into this directory')
  .option('--apply', 'server-side apply the resources to the cluster')
  .option('--kubeconfig <file>', 'kubeconfig for --apply (default: KUBECONFIG, ~/.kube/config, in-cluster)')
  .option('--context <name>', 'kubeconfig context for --apply')
  .option('--field-manager <name>', 'field manager for --apply (default: switchyard)')
  .option('--force', 'with --apply: take over fields other managers own')
  .option('--dry-run <mode>', 'with --apply: "server" validates and admits without storing')
  .option(
    '--rollouts [admin-url]',
    "rolled-out routes get the running gateway's current rollout weights (admin API; default: from the config)",
  )
  .action(async (opts: MeshIstioOptions) => {
    process.exitCode = await runMeshIstio(opts);
  });

registerSagaCommands(program);
registerRolloutCommands(program);

await program.parseAsync();
