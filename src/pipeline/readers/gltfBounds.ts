import type { GLTF } from '@gltf-transform/core';

/**
 * Checks that every accessor's data lies inside its buffer view, every buffer view inside its buffer,
 * and every buffer's declared length inside the data there is, before glTF-Transform reads anything.
 * glTF-Transform slices what it is asked for, and a slice past the end comes back short without a
 * word: an accessor claiming more vertices than its buffer holds would lose them silently (or take
 * another accessor's bytes). The limits are the specification's, as the Khronos validator applies them.
 */

/**
 * `buffers[i]` is buffer i's bytes, or undefined for a buffer with no data of its own (an
 * EXT_meshopt_compression fallback, filled by decompression).
 */
export function checkGltfBounds(json: GLTF.IGLTF, buffers: readonly (Uint8Array | undefined)[]): void {
  const bufferDefs = list(json.buffers, 'buffers');
  const views = list(json.bufferViews, 'bufferViews');
  const accessors = list(json.accessors, 'accessors');

  bufferDefs.forEach((buffer, i) => {
    const byteLength = whole(buffer.byteLength, `Buffer ${i}'s byteLength`);
    const data = buffers[i];
    if (data && data.length < byteLength) {
      throw new RangeError(`Buffer ${i} declares ${byteLength} bytes but only ${data.length} are there: the file is truncated or its parts do not belong together.`);
    }
  });

  const viewData = views.map((view, v) => checkView(view, v, bufferDefs, buffers));
  accessors.forEach((accessor, a) => checkAccessor(accessor, a, views, viewData));
}

type ViewData =
  /** The view's own bytes. */
  | Uint8Array
  /** Decompressed at read time (EXT_meshopt_compression): its length is known, its bytes are not yet. */
  | 'compressed';

function checkView(view: GLTF.IBufferView, v: number, bufferDefs: readonly GLTF.IBuffer[], buffers: readonly (Uint8Array | undefined)[]): ViewData {
  const b = index(view.buffer, bufferDefs.length, `Buffer view ${v}'s buffer`);
  const offset = whole(view.byteOffset ?? 0, `Buffer view ${v}'s byteOffset`);
  const length = whole(view.byteLength, `Buffer view ${v}'s byteLength`);
  if (view.byteStride !== undefined && whole(view.byteStride, `Buffer view ${v}'s byteStride`) === 0) {
    throw new RangeError(`Buffer view ${v} has a byteStride of 0.`);
  }
  const bufferLength = bufferDefs[b]!.byteLength;
  if (offset + length > bufferLength) {
    throw new RangeError(`Buffer view ${v} runs to byte ${offset + length} of buffer ${b}, which holds ${bufferLength}.`);
  }
  const meshopt = view.extensions?.['EXT_meshopt_compression'] as MeshoptView | undefined;
  if (meshopt !== undefined) {
    const source = index(meshopt.buffer, bufferDefs.length, `Buffer view ${v}'s compressed buffer`);
    const sourceEnd = whole(meshopt.byteOffset ?? 0, `Buffer view ${v}'s compressed byteOffset`) + whole(meshopt.byteLength, `Buffer view ${v}'s compressed byteLength`);
    if (sourceEnd > bufferDefs[source]!.byteLength || buffers[source] === undefined) {
      throw new RangeError(`Buffer view ${v}'s compressed data runs to byte ${sourceEnd} of buffer ${source}, which holds ${buffers[source]?.length ?? 0}.`);
    }
    const decoded = whole(meshopt.count, `Buffer view ${v}'s compressed count`) * whole(meshopt.byteStride, `Buffer view ${v}'s compressed byteStride`);
    if (decoded < length) throw new RangeError(`Buffer view ${v} holds ${length} bytes but its compressed data decodes to ${decoded}.`);
    return 'compressed';
  }
  const data = buffers[b];
  if (!data) throw new RangeError(`Buffer view ${v} reads buffer ${b}, which has no data (it stands in for compressed data).`);
  return data.subarray(offset, offset + length);
}

interface MeshoptView {
  readonly buffer: number;
  readonly byteOffset?: number;
  readonly byteLength: number;
  readonly byteStride: number;
  readonly count: number;
}

const COMPONENT_BYTES: Readonly<Record<number, number>> = { 5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4 };
const INDEX_COMPONENT_TYPES: readonly number[] = [5121, 5123, 5125];
/** Rows × columns of each accessor type. */
const SHAPES: Readonly<Record<string, readonly [number, number]>> = {
  SCALAR: [1, 1], VEC2: [2, 1], VEC3: [3, 1], VEC4: [4, 1], MAT2: [2, 2], MAT3: [3, 3], MAT4: [4, 4],
};

function checkAccessor(accessor: GLTF.IAccessor, a: number, views: readonly GLTF.IBufferView[], viewData: readonly ViewData[]): void {
  const what = `Accessor ${a}`;
  const componentBytes = COMPONENT_BYTES[accessor.componentType];
  if (componentBytes === undefined) throw new RangeError(`${what} has componentType ${String(accessor.componentType)}, which glTF does not define.`);
  const shape = Object.prototype.hasOwnProperty.call(SHAPES, accessor.type) ? SHAPES[accessor.type] : undefined;
  if (shape === undefined) throw new RangeError(`${what} has type "${String(accessor.type)}", which glTF does not define.`);
  const count = whole(accessor.count, `${what}'s count`);
  const elementBytes = elementSize(shape, componentBytes);

  if (accessor.bufferView !== undefined) {
    const v = index(accessor.bufferView, views.length, `${what}'s bufferView`);
    const offset = whole(accessor.byteOffset ?? 0, `${what}'s byteOffset`);
    const stride = views[v]!.byteStride ?? elementBytes;
    if (stride < elementBytes) throw new RangeError(`${what}'s elements are ${elementBytes} bytes, more than the byteStride ${stride} of buffer view ${v}.`);
    const end = count === 0 ? offset : offset + stride * (count - 1) + elementBytes;
    const viewLength = views[v]!.byteLength;
    if (end > viewLength) {
      throw new RangeError(
        `${what} claims ${count} elements of ${elementBytes} bytes (stride ${stride}, from byte ${offset}), ${end} bytes in all, but its buffer view ${v} holds ${viewLength}.`,
      );
    }
  }

  const sparse = accessor.sparse;
  if (sparse !== undefined) checkSparse(sparse, `Sparse accessor ${a}`, count, elementBytes, views, viewData);
}

/** glTF pads each matrix column to 4 bytes (MAT2 and MAT3 of bytes, MAT3 of shorts). */
function elementSize([rows, columns]: readonly [number, number], componentBytes: number): number {
  if (columns === 1) return rows * componentBytes;
  return columns * Math.ceil((rows * componentBytes) / 4) * 4;
}

function checkSparse(sparse: GLTF.IAccessorSparse, what: string, count: number, elementBytes: number, views: readonly GLTF.IBufferView[], viewData: readonly ViewData[]): void {
  const n = whole(sparse.count, `${what}'s sparse count`);
  if (n > count) throw new RangeError(`${what} replaces ${n} elements but has only ${count}.`);
  const indexBytes = INDEX_COMPONENT_TYPES.includes(sparse.indices?.componentType) ? COMPONENT_BYTES[sparse.indices.componentType]! : undefined;
  if (indexBytes === undefined) throw new RangeError(`${what}'s indices have componentType ${String(sparse.indices?.componentType)}; glTF allows unsigned bytes, shorts and ints.`);
  const indices = sparseRange(sparse.indices, n * indexBytes, `${what}'s indices`, views, viewData);
  sparseRange(sparse.values, n * elementBytes, `${what}'s values`, views, viewData);
  // Elements past the end would be dropped without a word when the values are written in.
  const data = new DataView(indices.buffer, indices.byteOffset, indices.byteLength);
  for (let i = 0; i < n; i++) {
    const at = i * indexBytes;
    const element = indexBytes === 1 ? data.getUint8(at) : indexBytes === 2 ? data.getUint16(at, true) : data.getUint32(at, true);
    if (element >= count) throw new RangeError(`${what} replaces element ${element}, but it has only ${count}.`);
  }
}

function sparseRange(
  part: { bufferView: number; byteOffset?: number } | undefined,
  byteLength: number,
  what: string,
  views: readonly GLTF.IBufferView[],
  viewData: readonly ViewData[],
): Uint8Array {
  const v = index(part?.bufferView, views.length, `${what}' bufferView`);
  // glTF-Transform would read a strided sparse view as interleaved data; the specification forbids the stride.
  if (views[v]!.byteStride !== undefined) throw new RangeError(`${what} are in buffer view ${v}, which has a byteStride; sparse data may not.`);
  const data = viewData[v]!;
  if (data === 'compressed') throw new RangeError(`${what} are in compressed buffer view ${v}; this reader does not read compressed sparse data.`);
  const offset = whole(part!.byteOffset ?? 0, `${what}' byteOffset`);
  if (offset + byteLength > data.length) {
    throw new RangeError(`${what} take ${byteLength} bytes from byte ${offset} of buffer view ${v}, which holds ${data.length}.`);
  }
  return data.subarray(offset, offset + byteLength);
}

// ---------------------------------------------------------------------------------------------
// The JSON is the file's, not ours: every number is checked before it is used.

function list<T>(value: T[] | undefined, name: string): readonly T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new RangeError(`The glTF file's "${name}" is not a list.`);
  value.forEach((item, i) => {
    if (typeof item !== 'object' || item === null) throw new RangeError(`The glTF file's ${name}[${i}] is not an object.`);
  });
  return value;
}

function whole(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} is ${JSON.stringify(value) ?? 'missing'}, not a whole number.`);
  return value;
}

function index(value: unknown, length: number, what: string): number {
  const i = whole(value, what);
  if (i >= length) throw new RangeError(`${what} is ${i}, but the file has only ${length}.`);
  return i;
}
