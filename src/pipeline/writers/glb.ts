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
  if (mesh.normals && mesh.normals.length !== mesh.positions.length) {
    throw new RangeError('Mesh normals length does not match positions.');
  }
  if (mesh.colors && mesh.colors.length !== mesh.positions.length) {
    throw new RangeError('Mesh colors length does not match positions.');
  }
  // One pass both checks every coordinate and finds the bounds the POSITION accessor must state.
  const { min, max } = finiteBounds(mesh.positions);

  const triangles = distinctTriangles(mesh.indices, vertexCount);
  if (triangles.length === 0) throw new RangeError('Mesh has no non-degenerate triangles to write.');

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
  accessors.push({ bufferView: positionView, componentType: FLOAT, count: vertexCount, type: 'VEC3', min, max });
  attributes.POSITION = accessors.length - 1;

  let normalView = -1;
  if (mesh.normals) {
    normalView = addView(vec3Bytes, ARRAY_BUFFER, 12);
    accessors.push({ bufferView: normalView, componentType: FLOAT, count: vertexCount, type: 'VEC3' });
    attributes.NORMAL = accessors.length - 1;
  }
  let colorView = -1;
  if (mesh.colors) {
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

  // The whole file is laid out first and allocated once; the BIN chunk is then filled in place.
  const jsonBytes = new TextEncoder().encode(JSON.stringify(json));
  const jsonChunkLength = align4(jsonBytes.length);
  const binStart = 12 + 8 + jsonChunkLength + 8;
  const total = binStart + binLength;
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
  header.setUint32(binStart - 8, binLength, true);
  header.setUint32(binStart - 4, CHUNK_BIN, true);

  const floats = (view: number): Float32Array => new Float32Array(out.buffer, binStart + views[view]!.byteOffset, vertexCount * 3);
  const at = (view: number): number => binStart + views[view]!.byteOffset;
  if (LITTLE_ENDIAN_HOST) {
    // glTF is little-endian, like every host this runs on in practice: typed-array views over the
    // output (every view starts 4-aligned) make the copies plain memory moves.
    floats(positionView).set(mesh.positions);
    if (mesh.normals) unitNormalsInto(floats(normalView), mesh, triangles);
    if (mesh.colors) clampColorsInto(floats(colorView), mesh.colors);
    if (useShort) new Uint16Array(out.buffer, at(indexView), triangles.length).set(triangles);
    else new Uint32Array(out.buffer, at(indexView), triangles.length).set(triangles);
  } else {
    const dv = new DataView(out.buffer);
    writeFloats(dv, at(positionView), mesh.positions);
    if (mesh.normals) {
      const normals = new Float32Array(vertexCount * 3);
      unitNormalsInto(normals, mesh, triangles);
      writeFloats(dv, at(normalView), normals);
    }
    if (mesh.colors) {
      const colors = new Float32Array(vertexCount * 3);
      clampColorsInto(colors, mesh.colors);
      writeFloats(dv, at(colorView), colors);
    }
    const offset = at(indexView);
    if (useShort) for (let i = 0; i < triangles.length; i++) dv.setUint16(offset + i * 2, triangles[i]!, true);
    else for (let i = 0; i < triangles.length; i++) dv.setUint32(offset + i * 4, triangles[i]!, true);
  }
  return out;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * float32 min/max per component, which the spec requires to match the data exactly, after checking
 * that every coordinate is finite.
 */
function finiteBounds(positions: Float32Array): { min: number[]; max: number[] } {
  let minX = Infinity, minY = Infinity, minZ = Infinity;
  let maxX = -Infinity, maxY = -Infinity, maxZ = -Infinity;
  for (let i = 0; i < positions.length; i += 3) {
    const x = positions[i]!, y = positions[i + 1]!, z = positions[i + 2]!;
    // x - x is 0 for finite x and NaN for NaN or ±Infinity: one test for all three coordinates.
    if ((x - x) + (y - y) + (z - z) !== 0) {
      const k = [x, y, z].findIndex((v) => !Number.isFinite(v));
      throw new RangeError(`Mesh positions contain a non-finite value at ${i + k}.`);
    }
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
    if (z < minZ) minZ = z;
    if (z > maxZ) maxZ = z;
  }
  // -0 would be written as 0 by JSON.stringify anyway; normalise so min/max compare equal to the data.
  return { min: [minX + 0, minY + 0, minZ + 0], max: [maxX + 0, maxY + 0, maxZ + 0] };
}

/**
 * The validator rejects NORMAL data that is not unit length. Normals from upstream are renormalised;
 * any that cannot be (zero or non-finite) are replaced by the area-weighted normal of the triangles
 * around the vertex, and failing that by +Y.
 */
function unitNormalsInto(out: Float32Array, mesh: Mesh, triangles: Uint32Array): void {
  const src = mesh.normals!;
  const vertexCount = mesh.positions.length / 3;
  let faceNormals: Float64Array | undefined;
  for (let v = 0; v < vertexCount; v++) {
    let x = src[v * 3]!;
    let y = src[v * 3 + 1]!;
    let z = src[v * 3 + 2]!;
    // sqrt of the sum of squares: Math.hypot guards against overflow at several times the cost, and
    // float32 components squared in doubles cannot overflow.
    let len = Math.sqrt(x * x + y * y + z * z);
    if (!(len > 1e-12) || !(len < Infinity)) {
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

function clampColorsInto(out: Float32Array, colors: Float32Array): void {
  for (let i = 0; i < colors.length; i++) {
    const c = colors[i]!;
    out[i] = c > 0 ? (c < 1 ? c : 1) : 0; // also maps NaN to 0
  }
}

function writeFloats(dv: DataView, offset: number, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) dv.setFloat32(offset + i * 4, values[i]!, true);
}
