#!/usr/bin/env node
import { Command } from 'commander';
import { runUp, runValidate } from './commands.ts';
import { runGateway } from './gateway-command.ts';

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

await program.parseAsync();
