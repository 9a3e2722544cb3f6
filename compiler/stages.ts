// Names of the compiler stages (for --dump) and of the derivative modes: kept in a module of
// their own so the command line can list them without loading the compiler.

export const STAGES = ['parse', 'diff', 'optimise', 'lower', 'schedule', 'emit'] as const;
export type Stage = (typeof STAGES)[number];
export const MODES = ['forward', 'reverse', 'both'] as const;
