#!/usr/bin/env node
import { Command } from 'commander';
import { runUp, runValidate } from './commands.ts';

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
  .command('validate')
  .description('check a config file and print every problem with its position')
  .option('-c, --config <file>', 'config file', 'switchyard.yaml')
  .action((opts: { config: string }) => {
    process.exitCode = runValidate(opts);
  });

await program.parseAsync();
