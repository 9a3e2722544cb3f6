// Hygienic names for generated code: one tree of lexical scopes per module. The module scope
// holds the names every part of the module can see (the runtime's top-level functions, the
// globals it uses, the user's names, buffers, drivers); each generated function gets a child
// scope for its locals. A name is handed out only if no enclosing scope holds it (the local
// would shadow it) and no enclosed scope holds it (it would be shadowed there), so generated
// code can never capture, shadow or clash with a user name or with another generated name.
// Siblings may reuse a name: two segments each have a loop index `i`.
//
// A name keeps its base spelling when free, else gets a numeric suffix (`x_dot2`). Allocation
// order is fixed by the compiler, so the output is byte-stable.

export class NameScope {
  /** Names declared in this scope. */
  private readonly own = new Set<string>();
  /** Names declared in this scope or any scope below it. */
  private readonly below = new Set<string>();

  private constructor(private readonly parent: NameScope | null) {}

  /** A module scope, holding `taken` (names the module sees that the compiler does not allocate). */
  static module(taken: Iterable<string> = []): NameScope {
    const scope = new NameScope(null);
    for (const name of taken) scope.declare(name);
    return scope;
  }

  /** A scope for the locals of one generated function inside this one. */
  child(): NameScope {
    return new NameScope(this);
  }

  /** Whether `name` would clash here: held by this scope, an enclosing one or an enclosed one. */
  taken(name: string): boolean {
    if (this.below.has(name)) return true;
    for (let s = this.parent; s; s = s.parent) if (s.own.has(name)) return true;
    return false;
  }

  /** `base` if free, else `base2`, `base3`, ... */
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.taken(name); k++) name = `${base}${k}`;
    this.declare(name);
    return name;
  }

  /** One fresh name per base, in the order given: a table that code templates print from. */
  table<const B extends string>(bases: readonly B[]): Readonly<Record<B, string>> {
    const out = {} as Record<B, string>;
    for (const b of bases) out[b] = this.fresh(b);
    return out;
  }

  private declare(name: string) {
    this.own.add(name);
    for (let s: NameScope | null = this; s; s = s.parent) s.below.add(name);
  }
}
