// Collision-free names for generated code. User names are claimed first and kept as they
// are (`x`, `theta`); derived names follow one convention (`x_dot` tangents, `x_bar`
// adjoints, `x_next` next iterates, `x_tape` the reverse tape) and get a numeric suffix
// only if a user name already took them. Allocation order is fixed, so output is stable.

export class NameAllocator {
  private readonly used = new Set<string>();
  private readonly handedOut = new Set<string>();
  constructor(reserved: Iterable<string> = []) {
    for (const r of reserved) this.used.add(r);
  }
  /** `base` if free, else `base2`, `base3`, ... */
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.used.has(name); k++) name = `${base}${k}`;
    this.used.add(name);
    this.handedOut.add(name);
    return name;
  }
  /** The names fresh() gave out. */
  allocated(): ReadonlySet<string> {
    return this.handedOut;
  }
  has(name: string): boolean {
    return this.used.has(name);
  }
}
