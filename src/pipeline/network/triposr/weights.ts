/**
 * Weights as graph initializers, read from the checkpoint only when the model file is written (one
 * tensor at a time, so converting never holds more than a few tensors), and rearranged on the way for
 * the layout the graph uses: Linear weights transposed to [in, out] so Gemm reads them without transB,
 * projections that share an input concatenated along the output axis, float16 where asked.
 */
import type { StateDictSource } from '../checkpoint/stateDict.js';
import type { DeferredElementType, GraphBuilder } from '../onnx/graphBuilder.js';
import { toFloat16 } from '../onnx/float16.js';

export type Precision = 'fp32' | 'fp16';

/** [rows, cols] row-major → [cols, rows], in cache-sized tiles (the big matrices are 8192 × 1024). */
export function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const T = 64;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[base + c]!;
      }
    }
  }
  return out;
}

export class Weights {
  constructor(
    private readonly g: GraphBuilder,
    private readonly source: StateDictSource,
    /** Element type of the weights that follow the precision option. */
    readonly type: DeferredElementType,
  ) {}

  static elementType(precision: Precision): DeferredElementType {
    return precision === 'fp16' ? 'float16' : 'float32';
  }

  private read(name: string): Promise<Float32Array> {
    return this.source.readFloat32(name);
  }

  private declare(
    name: string,
    dims: readonly number[],
    fp32: boolean,
    compute: () => Promise<Float32Array>,
  ): string {
    const type: DeferredElementType = fp32 ? 'float32' : this.type;
    return this.g.deferredInitializer(name, type, dims, async () => {
      const values = await compute();
      return type === 'float16' ? toFloat16(values) : values;
    });
  }

  /** A checkpoint tensor as stored, reshaped to `dims` (same element count). */
  tensor(name: string, dims: readonly number[], options: { fp32?: boolean; as?: string } = {}): string {
    return this.declare(options.as ?? name, dims, options.fp32 ?? false, () => this.read(name));
  }

  /**
   * nn.Linear weights [out_i, in] of the named tensors, concatenated along `out` and transposed:
   * [in, Σ out_i], so x [N, in] · W gives the projections side by side.
   */
  linear(names: readonly string[], inDim: number, outDims: readonly number[], options: { fp32?: boolean; as?: string } = {}): string {
    const total = outDims.reduce((a, b) => a + b, 0);
    return this.declare(options.as ?? `${names.join('+')}^T`, [inDim, total], options.fp32 ?? false, async () => {
      const stacked = new Float32Array(total * inDim);
      let offset = 0;
      for (const [i, name] of names.entries()) {
        const w = await this.read(name);
        if (w.length !== outDims[i]! * inDim) throw new Error(`${name}: ${w.length} values, expected ${outDims[i]}×${inDim}`);
        stacked.set(w, offset);
        offset += w.length;
      }
      return transpose(stacked, total, inDim);
    });
  }

  /**
   * Rows [from, to) of an nn.Linear weight [out, in], transposed to [in, to − from] (one half of GEGLU's
   * projection).
   */
  linearRows(name: string, inDim: number, from: number, to: number, options: { fp32?: boolean; as?: string } = {}): string {
    return this.declare(options.as ?? `${name}[${from}:${to}]^T`, [inDim, to - from], options.fp32 ?? false, async () => {
      const w = await this.read(name);
      return transpose(w.subarray(from * inDim, to * inDim), to - from, inDim);
    });
  }

  /** 1-D tensors concatenated (biases of projections that were stacked with `linear`). */
  concat(names: readonly string[], lengths: readonly number[], options: { fp32?: boolean; as?: string } = {}): string {
    const total = lengths.reduce((a, b) => a + b, 0);
    return this.declare(options.as ?? names.join('+'), [total], options.fp32 ?? false, async () => {
      const out = new Float32Array(total);
      let offset = 0;
      for (const name of names) {
        const v = await this.read(name);
        out.set(v, offset);
        offset += v.length;
      }
      if (offset !== total) throw new Error(`${names.join('+')}: ${offset} values, expected ${total}`);
      return out;
    });
  }

  /** Elements [from, to) of a 1-D tensor. */
  slice(name: string, from: number, to: number, options: { fp32?: boolean; as?: string } = {}): string {
    return this.declare(options.as ?? `${name}[${from}:${to}]`, [to - from], options.fp32 ?? false, async () =>
      (await this.read(name)).slice(from, to),
    );
  }

  /** Any value computed from checkpoint tensors at write time. */
  derived(name: string, dims: readonly number[], compute: () => Promise<Float32Array>, options: { fp32?: boolean } = {}): string {
    return this.declare(name, dims, options.fp32 ?? false, compute);
  }

  readFloat32(name: string): Promise<Float32Array> {
    return this.read(name);
  }
}
