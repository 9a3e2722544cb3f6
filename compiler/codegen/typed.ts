// Printing a declared name with its type only for `--emit ts`: the JavaScript (`--emit js`)
// stays byte for byte what it was. The annotations come from tables beside the names
// (module-js.ts's DRIVER_TYPES, the segments' kinds of parameter), never from string hooks.

/** `name` followed by its annotation (`: number`, `?: Observer`) when printing TypeScript, else `name`. */
export const typedName = (types: boolean, name: string, annotation: string): string => (types ? `${name}${annotation}` : name);
