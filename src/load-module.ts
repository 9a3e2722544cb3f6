// Loads generated module text as an ES module in this process, from a data: URL: nothing is
// written to disk, and generated code is loaded as a module, never evaluated from spec text.
// The same text gives the same URL, so the engine's module map loads it once.

export async function importGenerated<T>(code: string): Promise<T> {
  const url = `data:text/javascript;base64,${Buffer.from(code, 'utf8').toString('base64')}`;
  return (await import(url)) as T;
}
