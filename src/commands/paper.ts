// `phic paper`: registered with the command line (being written).
import type { Command } from 'commander';

export function registerPaper(_program: Command): void {}
