// The names a piece of runtime text declares at its top level. Generated modules carry their
// runtime as text; these names are what the rest of the module can see of it, so the module
// scope holds them and no user name or generated name can shadow them. Read from the text
// itself, never listed by hand (a test checks the result against a real parse).

const DECLARATION = /^(?:export\s+)?(?:async\s+)?(?:function\*?|const|let|var|class)\s+([A-Za-z_$][\w$]*)/gm;

export function topLevelNames(text: string): string[] {
  return [...text.matchAll(DECLARATION)].map((m) => m[1]!);
}
