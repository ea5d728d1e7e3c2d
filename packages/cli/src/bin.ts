#!/usr/bin/env node
import { Command } from 'commander';
import { runUp, runValidate } from './commands.ts';
import { runGateway } from './gateway-command.ts';
import { type MeshEnvoyOptions, runMeshEnvoy } from './mesh-envoy-command.ts';

const program = new Command()
  .name('switchyard')
  .description('Run and operate a Switchyard system described by switchyard.yaml')
  .showHelpAfterError();

program
  .command('up')
  .description('start the registry, the gateway and every service; Ctrl-C stops them all')
  .option('-c, --config <file>', 'config file', 'switchyard.yaml')
  .option('--ready-file <file>', 'when healthy, write the gateway/registry URLs and instances there as JSON')
  .action(async (opts: { config: string; readyFile?: string }) => {
    process.exitCode = await runUp(opts);
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

await program.parseAsync();
