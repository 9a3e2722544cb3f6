// `phic curse`: registered with the command line (being written).
import type { Command } from 'commander';

export function registerCurse(_program: Command): void {}
