// Errors phic reports to users: one class, a category that maps to an exit code, and
// enough context (spec file, field, formula, position) to point at the user's mistake.

/** `config`: a phic.config file that cannot be used (like a usage error, from a file). */
export type ErrorCategory = 'usage' | 'config' | 'spec' | 'data' | 'numeric';

export interface SourceLocation {
  file?: string;
  line: number; // 1-based
  column: number; // 1-based
}

export interface ErrorContext {
  /** Spec field, e.g. `update.x` or `data.A`. */
  field?: string;
  /** The user's formula the error is about. */
  formula?: string;
  /** 0-based offset inside `formula`. */
  offset?: number;
  /** Where the field (or the formula position) sits in the spec file. */
  location?: SourceLocation;
}

export class PhicError extends Error {
  readonly category: ErrorCategory;
  readonly context: ErrorContext;
  constructor(category: ErrorCategory, message: string, context: ErrorContext = {}) {
    super(message);
    this.name = 'PhicError';
    this.category = category;
    this.context = context;
  }

  /** Exit code scripts can rely on: 2 for usage and config mistakes, 1 for everything else. */
  get exitCode(): number {
    return this.category === 'usage' || this.category === 'config' ? 2 : 1;
  }

  /** A multi-line report: location, message, the formula and a caret under the position. */
  format(): string {
    const { field, formula, offset, location } = this.context;
    const where = location ? `${location.file ?? '<spec>'}:${location.line}:${location.column}: ` : '';
    const lines = [`${where}${this.category} error${field ? ` in ${field}` : ''}: ${this.message}`];
    if (formula !== undefined) {
      lines.push(`  ${formula}`);
      if (offset !== undefined) lines.push(`  ${' '.repeat(offset)}^`);
    }
    return lines.join('\n');
  }

  /** The same error with more context filled in (fields already set win). */
  withContext(extra: ErrorContext): PhicError {
    const merged: ErrorContext = { ...extra, ...this.context };
    if (!this.context.location && extra.location) merged.location = extra.location;
    return new PhicError(this.category, this.message, merged);
  }
}

export const usageError = (message: string, context?: ErrorContext) => new PhicError('usage', message, context);
export const configError = (message: string, context?: ErrorContext) => new PhicError('config', message, context);
export const specError = (message: string, context?: ErrorContext) => new PhicError('spec', message, context);
export const dataError = (message: string, context?: ErrorContext) => new PhicError('data', message, context);
