// A stand-in for a gpu.js GPU on a GL backend, for the GPU module's kernel-by-kernel executor
// where no GL context exists: kernels run on the CPU (one call per entry, float32 results), and
// each result is a "texture" that counts its deletion and refuses a read or a second delete
// after it. It checks texture bookkeeping, not GL arithmetic (test/gpu-gl.test.ts does that).

export interface FakeTexture {
  readonly data: Float32Array;
  deleted: boolean;
  delete(): void;
  toArray(): Float32Array;
}

export interface FakeGl {
  readonly gpu: object;
  /** Textures made and deleted so far, and those not yet deleted. */
  readonly stats: { created: number; deleted: number; readonly live: Set<FakeTexture> };
}

interface Settings {
  output: number[];
  pipeline?: boolean;
  constants?: Record<string, number>;
  functions?: string[];
}

export function fakeGl(): FakeGl {
  const stats = { created: 0, deleted: 0, live: new Set<FakeTexture>() };
  // backendOf knows gpu.js's GL kernel class by its name
  const HeadlessGLKernel = function HeadlessGLKernel() {};
  const texture = (data: Float32Array): FakeTexture => {
    const t: FakeTexture = {
      data,
      deleted: false,
      delete() {
        if (t.deleted) throw new Error('a texture was deleted twice');
        t.deleted = true;
        stats.deleted++;
        stats.live.delete(t);
      },
      toArray() {
        if (t.deleted) throw new Error('a deleted texture was read back');
        return data;
      },
    };
    stats.created++;
    stats.live.add(t);
    return t;
  };
  const gpu = {
    Kernel: HeadlessGLKernel,
    createKernel(source: string, settings: Settings) {
      const fn = new Function(`${(settings.functions ?? []).join('\n')}\nreturn (${source});`)() as (...args: unknown[]) => number;
      const k = (...args: unknown[]) => {
        const values = args.map((a) => {
          if (typeof a !== 'object' || a === null || !('delete' in a)) return a;
          if ((a as FakeTexture).deleted) throw new Error('a kernel read a deleted texture');
          return (a as FakeTexture).data;
        });
        const out = new Float32Array(settings.output[0]!);
        for (let i = 0; i < out.length; i++) out[i] = fn.apply({ thread: { x: i }, constants: settings.constants ?? {} }, values);
        return settings.pipeline ? texture(out) : out;
      };
      return Object.assign(k, { kernel: { constructor: HeadlessGLKernel, context: undefined }, destroy: () => {} });
    },
    createPipeline() {
      throw new Error('the stand-in GL GPU has no pipelines');
    },
  };
  return { gpu, stats };
}
