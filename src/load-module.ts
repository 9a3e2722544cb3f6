// Loads generated module text as an ES module in this process, without writing a file. In
// Node, from a data: URL (Node cannot import blob: URLs); the same text gives the same URL, so
// the engine's module map loads it once. In a browser, from a blob: URL (no size limit, and a
// page's CSP may allow blob: where it refuses data:), revoked once loaded. Generated code is
// loaded as a module, never evaluated from spec text. No node: import: the browser entry
// point (src/browser.ts) uses this file too.

export async function importGenerated<T>(code: string): Promise<T> {
  const buffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
  if (buffer || typeof URL.createObjectURL !== 'function') {
    const url = buffer ? `data:text/javascript;base64,${buffer.from(code, 'utf8').toString('base64')}` : `data:text/javascript;charset=utf-8,${encodeURIComponent(code)}`;
    return (await import(/* @vite-ignore */ url)) as T;
  }
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  try {
    return (await import(/* @vite-ignore */ url)) as T;
  } finally {
    URL.revokeObjectURL(url);
  }
}
