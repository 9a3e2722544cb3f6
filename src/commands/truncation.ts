// `phic truncation`: registered with the command line (being written).
import type { Command } from 'commander';

export function registerTruncation(_program: Command): void {}
