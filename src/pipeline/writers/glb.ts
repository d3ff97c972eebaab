import type { Mesh } from '../mesh/mesh.js';
import { distinctTriangles } from '../mesh/triangles.js';

/**
 * glTF 2.0 binary (GLB) writer. The mesh arrives in glTF's own frame (Y up, metres), so this only lays
 * the arrays out the way the spec and the Khronos validator want them.
 */

export interface GlbOptions {
  /** Written to asset.generator. */
  readonly generator: string;
  /** Name given to the mesh and its node. */
  readonly name?: string;
}

const GLB_MAGIC = 0x46546c67; // "glTF"
const GLB_VERSION = 2;
const CHUNK_JSON = 0x4e4f534a; // "JSON"
const CHUNK_BIN = 0x004e4942; // "BIN\0"

const ARRAY_BUFFER = 34962;
const ELEMENT_ARRAY_BUFFER = 34963;
const FLOAT = 5126;
const UNSIGNED_SHORT = 5123;
const UNSIGNED_INT = 5125;
const TRIANGLES = 4;

interface BufferViewJson {
  buffer: number;
  byteOffset: number;
  byteLength: number;
  byteStride?: number;
  target: number;
}

interface AccessorJson {
  bufferView: number;
  componentType: number;
  count: number;
  type: 'SCALAR' | 'VEC3';
  min?: number[];
  max?: number[];
}

export function encodeGlb(mesh: Mesh, options: GlbOptions): Uint8Array {
  const vertexCount = mesh.positions.length / 3;
  if (!Number.isInteger(vertexCount)) throw new RangeError('Mesh positions length is not a multiple of 3.');
  checkFinite(mesh.positions, 'positions');

  const triangles = distinctTriangles(mesh.indices, vertexCount);
  if (triangles.length === 0) throw new RangeError('Mesh has no non-degenerate triangles to write.');

  const normals = mesh.normals ? unitNormals(mesh, triangles) : undefined;
  const colors = mesh.colors ? clampedColors(mesh.colors, vertexCount) : undefined;

  // uint16 is enough up to 65535 vertices: the largest index is then 65534, which stays clear of the
  // primitive-restart value 65535 that the spec forbids as an index.
  const useShort = vertexCount <= 65535;
  const indexBytes = triangles.length * (useShort ? 2 : 4);

  const views: BufferViewJson[] = [];
  const accessors: AccessorJson[] = [];
  const attributes: Record<string, number> = {};
  let binLength = 0;

  const addView = (byteLength: number, target: number, byteStride?: number): number => {
    const view: BufferViewJson = { buffer: 0, byteOffset: binLength, byteLength, target };
    if (byteStride !== undefined) view.byteStride = byteStride;
    views.push(view);
    binLength += align4(byteLength);
    return views.length - 1;
  };

  // Vertex streams are tightly packed VEC3 floats; byteStride is stated anyway so every vertex view
  // says explicitly how to step through it.
  const vec3Bytes = vertexCount * 12;
  const positionView = addView(vec3Bytes, ARRAY_BUFFER, 12);
  const { min, max } = bounds(mesh.positions);
  accessors.push({ bufferView: positionView, componentType: FLOAT, count: vertexCount, type: 'VEC3', min, max });
  attributes.POSITION = accessors.length - 1;

  let normalView = -1;
  if (normals) {
    normalView = addView(vec3Bytes, ARRAY_BUFFER, 12);
    accessors.push({ bufferView: normalView, componentType: FLOAT, count: vertexCount, type: 'VEC3' });
    attributes.NORMAL = accessors.length - 1;
  }
  let colorView = -1;
  if (colors) {
    colorView = addView(vec3Bytes, ARRAY_BUFFER, 12);
    accessors.push({ bufferView: colorView, componentType: FLOAT, count: vertexCount, type: 'VEC3' });
    attributes.COLOR_0 = accessors.length - 1;
  }
  // Index views must not have a byteStride.
  const indexView = addView(indexBytes, ELEMENT_ARRAY_BUFFER);
  accessors.push({
    bufferView: indexView,
    componentType: useShort ? UNSIGNED_SHORT : UNSIGNED_INT,
    count: triangles.length,
    type: 'SCALAR',
  });
  const indexAccessor = accessors.length - 1;

  const bin = new Uint8Array(binLength);
  const dv = new DataView(bin.buffer);
  writeFloats(dv, views[positionView]!.byteOffset, mesh.positions, vertexCount * 3);
  if (normals) writeFloats(dv, views[normalView]!.byteOffset, normals, vertexCount * 3);
  if (colors) writeFloats(dv, views[colorView]!.byteOffset, colors, vertexCount * 3);
  const indexOffset = views[indexView]!.byteOffset;
  if (useShort) {
    for (let i = 0; i < triangles.length; i++) dv.setUint16(indexOffset + i * 2, triangles[i]!, true);
  } else {
    for (let i = 0; i < triangles.length; i++) dv.setUint32(indexOffset + i * 4, triangles[i]!, true);
  }

  const name = options.name;
  const json = {
    asset: { version: '2.0', generator: options.generator },
    scene: 0,
    scenes: [{ nodes: [0] }],
    nodes: [name !== undefined ? { mesh: 0, name } : { mesh: 0 }],
    meshes: [
      {
        ...(name !== undefined ? { name } : {}),
        primitives: [{ attributes, indices: indexAccessor, material: 0, mode: TRIANGLES }],
      },
    ],
    materials: [
      {
        pbrMetallicRoughness: { baseColorFactor: [1, 1, 1, 1], metallicFactor: 0, roughnessFactor: 0.8 },
        doubleSided: false,
      },
    ],
    accessors,
    bufferViews: views,
    buffers: [{ byteLength: binLength }],
  };

  const jsonBytes = new TextEncoder().encode(JSON.stringify(json));
  const jsonChunkLength = align4(jsonBytes.length);
  const total = 12 + 8 + jsonChunkLength + 8 + binLength;
  const out = new Uint8Array(total);
  const header = new DataView(out.buffer);
  header.setUint32(0, GLB_MAGIC, true);
  header.setUint32(4, GLB_VERSION, true);
  header.setUint32(8, total, true);
  header.setUint32(12, jsonChunkLength, true);
  header.setUint32(16, CHUNK_JSON, true);
  out.set(jsonBytes, 20);
  // The JSON chunk must be padded with spaces so that it still parses; the BIN chunk pads with zeros,
  // which the zero-initialised array already holds.
  out.fill(0x20, 20 + jsonBytes.length, 20 + jsonChunkLength);
  const binHeader = 20 + jsonChunkLength;
  header.setUint32(binHeader, binLength, true);
  header.setUint32(binHeader + 4, CHUNK_BIN, true);
  out.set(bin, binHeader + 8);
  return out;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function checkFinite(values: Float32Array, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`Mesh ${what} contain a non-finite value at ${i}.`);
  }
}


/** float32 min/max per component, which the spec requires to match the data exactly. */
function bounds(positions: Float32Array): { min: number[]; max: number[] } {
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      const v = positions[i + k]!;
      if (v < min[k]!) min[k] = v;
      if (v > max[k]!) max[k] = v;
    }
  }
  // -0 would be written as 0 by JSON.stringify anyway; normalise so min/max compare equal to the data.
  return { min: min.map((v) => v + 0), max: max.map((v) => v + 0) };
}

/**
 * The validator rejects NORMAL data that is not unit length. Normals from upstream are renormalised;
 * any that cannot be (zero or non-finite) are replaced by the area-weighted normal of the triangles
 * around the vertex, and failing that by +Y.
 */
function unitNormals(mesh: Mesh, triangles: Uint32Array): Float32Array {
  const src = mesh.normals!;
  const vertexCount = mesh.positions.length / 3;
  if (src.length !== vertexCount * 3) throw new RangeError('Mesh normals length does not match positions.');
  const out = new Float32Array(src.length);
  let faceNormals: Float64Array | undefined;
  for (let v = 0; v < vertexCount; v++) {
    let x = src[v * 3]!;
    let y = src[v * 3 + 1]!;
    let z = src[v * 3 + 2]!;
    let len = Math.hypot(x, y, z);
    if (!(len > 1e-12) || !Number.isFinite(len)) {
      faceNormals ??= accumulatedFaceNormals(mesh.positions, triangles);
      x = faceNormals[v * 3]!;
      y = faceNormals[v * 3 + 1]!;
      z = faceNormals[v * 3 + 2]!;
      len = Math.hypot(x, y, z);
      if (!(len > 1e-30)) {
        x = 0;
        y = 1;
        z = 0;
        len = 1;
      }
    }
    out[v * 3] = x / len;
    out[v * 3 + 1] = y / len;
    out[v * 3 + 2] = z / len;
  }
  return out;
}

function accumulatedFaceNormals(positions: Float32Array, triangles: Uint32Array): Float64Array {
  const acc = new Float64Array(positions.length);
  for (let t = 0; t < triangles.length; t += 3) {
    const a = triangles[t]! * 3;
    const b = triangles[t + 1]! * 3;
    const c = triangles[t + 2]! * 3;
    const ux = positions[b]! - positions[a]!;
    const uy = positions[b + 1]! - positions[a + 1]!;
    const uz = positions[b + 2]! - positions[a + 2]!;
    const vx = positions[c]! - positions[a]!;
    const vy = positions[c + 1]! - positions[a + 1]!;
    const vz = positions[c + 2]! - positions[a + 2]!;
    const nx = uy * vz - uz * vy;
    const ny = uz * vx - ux * vz;
    const nz = ux * vy - uy * vx;
    for (const i of [a, b, c]) {
      acc[i] += nx;
      acc[i + 1] += ny;
      acc[i + 2] += nz;
    }
  }
  return acc;
}

function clampedColors(colors: Float32Array, vertexCount: number): Float32Array {
  if (colors.length !== vertexCount * 3) throw new RangeError('Mesh colors length does not match positions.');
  const out = new Float32Array(colors.length);
  for (let i = 0; i < colors.length; i++) {
    const c = colors[i]!;
    out[i] = c > 0 ? (c < 1 ? c : 1) : 0; // also maps NaN to 0
  }
  return out;
}

function writeFloats(dv: DataView, offset: number, values: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) dv.setFloat32(offset + i * 4, values[i]!, true);
}
