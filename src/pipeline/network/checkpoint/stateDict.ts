/**
 * A source of named tensors: what the graph builder reads weights from. The PyTorch checkpoint reader
 * implements it over a model.ckpt on disk (storages read lazily); tests implement it in memory.
 */
export type StateDictDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: StateDictDtype;
  readonly shape: readonly number[];
}

export interface StateDictSource {
  /** Every tensor, in the order the file lists them. */
  tensors(): readonly TensorInfo[];
  get(name: string): TensorInfo | undefined;
  /**
   * The tensor's values as a new contiguous float32 array in row-major order (strides, storage
   * offset and dtype conversion applied). Reads from disk on demand so peak memory stays bounded.
   */
  readFloat32(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}
