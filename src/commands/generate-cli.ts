// `phic generate` on the command line: its options only; the command loads when it runs.

import type { Command } from 'commander';
import type { CliIo } from '../cli-io.js';

export function registerGenerate(program: Command, io: CliIo): void {
  program
    .command('generate')
    .description('generate every module a config lists (phic.config.ts or phic.config.json): files that did not change are not rewritten')
    .option('-c, --config <file>', 'the config file (default: phic.config.ts, .mts or .json in the current folder)')
    .option('--check', 'write nothing; list the generated files that are missing or out of date, and exit 1 if there are any')
    .option('-w, --watch', 'generate, then again whenever the config or a spec changes, until stopped (Ctrl-C)')
    .action(async (o: { config?: string; check?: boolean; watch?: boolean }) => {
      const { generateCommand } = await import('./generate.js');
      await generateCommand({ ...(o.config !== undefined ? { config: o.config } : {}), check: !!o.check, watch: !!o.watch }, io);
    });
}
