// `phic bilevel`: registered with the command line (being written).
import type { Command } from 'commander';

export function registerBilevel(_program: Command): void {}
