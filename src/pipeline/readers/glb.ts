import { GLB_BUFFER, Logger, WebIO, type Accessor, type Document, type GLTF, type JSONDocument, type Node, type Primitive } from '@gltf-transform/core';
import { ALL_EXTENSIONS, type InstancedMesh } from '@gltf-transform/extensions';
import type { Mesh } from '../mesh/mesh.js';
import { finishMesh, FloatList, IndexList } from './build.js';
import { checkGltfBounds } from './gltfBounds.js';
import { parseGltfContainer, type GltfContainer } from './gltfContainer.js';
import { resolveResourceUri } from './gltfUri.js';
import type { ResourceLoader } from './resourceLoader.js';

/**
 * glTF reader (.glb, and .gltf with its buffers embedded or in files beside it), through glTF-Transform with
 * every extension it knows, Draco and meshopt decoders included, so compressed files read too.
 *
 * The default scene is flattened into one triangle mesh: each node's world matrix (and GPU instance
 * transforms) applied, triangle strips and fans converted, mirrored nodes' winding fixed. The result
 * stays in glTF's frame, Y up and metres: the caller decides what frame it wants. COLOR_0 is linear in
 * glTF and comes out sRGB-encoded, like every colour a reader returns. As a viewer shows it, a vertex
 * colour is COLOR_0 times the material's base colour factor; once any primitive has COLOR_0, the
 * others take their material's base colour (textures are not sampled).
 */

export interface GlbRead {
  readonly mesh: Mesh;
  readonly notes: string[];
}

interface DracoPackage {
  createDecoderModule(options?: object): Promise<unknown>;
}

interface MeshoptDecoderModule {
  readonly ready: Promise<void>;
}

let ioPromise: Promise<WebIO> | undefined;
let dracoPromise: Promise<unknown> | undefined;

const DRACO = 'KHR_draco_mesh_compression';

/**
 * One I/O instance, created on first use, with every extension and the meshopt decoder (JavaScript
 * with its WebAssembly inlined: always loadable). WebIO never touches the file system: readGlb hands
 * it every buffer's bytes, read through the caller's loader, see bufferData().
 */
function io(): Promise<WebIO> {
  ioPromise ??= (async () => {
    const { MeshoptDecoder } = (await import('meshoptimizer/decoder')) as { MeshoptDecoder: MeshoptDecoderModule };
    await MeshoptDecoder.ready;
    return new WebIO()
      .setLogger(new Logger(Logger.Verbosity.SILENT))
      .registerExtensions(ALL_EXTENSIONS)
      .registerDependencies({ 'meshopt.decoder': MeshoptDecoder });
  })();
  ioPromise.catch(() => {
    ioPromise = undefined; // let a later call try again
  });
  return ioPromise;
}

/**
 * The Draco decoder, compiled only for files that need it: it loads a .wasm file from beside its own
 * script, which costs tens of milliseconds and depends on how the extension is packaged.
 */
async function withDraco(reader: WebIO): Promise<void> {
  dracoPromise ??= (async () => {
    // draco3dgltf has no type declarations; its shape is DracoPackage.
    const draco = require('draco3dgltf') as DracoPackage;
    return draco.createDecoderModule();
  })();
  dracoPromise.catch(() => {
    dracoPromise = undefined;
  });
  let decoder: unknown;
  try {
    decoder = await dracoPromise;
  } catch (error) {
    throw new Error(`The Draco decoder could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
  }
  reader.registerDependencies({ 'draco3d.decoder': decoder });
}

export interface GlbReadOptions {
  /** Reads the files a .gltf keeps its buffers in; without it, only embedded buffers are read. */
  readonly resources?: ResourceLoader;
}

export async function readGlb(bytes: Uint8Array, options: GlbReadOptions = {}): Promise<GlbRead> {
  const notes: string[] = [];
  const container = parseGltfContainer(bytes);
  const buffers = await bufferData(container, options.resources);
  checkGltfBounds(container.json, buffers);
  // The bytes come from files and data: URIs, never from a SharedArrayBuffer, which glTF-Transform's type rules out.
  const jsonDoc: JSONDocument = { json: container.json, resources: resourceMap(container, buffers, notes) as JSONDocument['resources'] };
  const reader = await io();
  if (jsonDoc.json.extensionsUsed?.includes(DRACO)) await withDraco(reader);
  let document: Document;
  try {
    document = await reader.readJSON(jsonDoc);
  } catch (error) {
    throw new RangeError(`The ${container.kind} file could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const raw = flatten(document, notes);
  return { mesh: finishMesh(raw, notes), notes };
}

/**
 * Each buffer's bytes: the GLB's binary chunk, a data: URI's contents, or a file beside the .gltf
 * (read through the loader, after resolveResourceUri has refused anything outside its folder).
 * Undefined for an EXT_meshopt_compression fallback buffer, which decompression fills.
 */
async function bufferData(container: GltfContainer, loader: ResourceLoader | undefined): Promise<(Uint8Array | undefined)[]> {
  const defs: unknown = container.json.buffers ?? [];
  if (!Array.isArray(defs)) throw new RangeError(`The ${container.kind} file's "buffers" is not a list.`);
  const files = new Map<string, Uint8Array>(); // two buffers in one file are read (and counted) once
  const out: (Uint8Array | undefined)[] = [];
  for (const [i, def] of (defs as GLTF.IBuffer[]).entries()) {
    if (typeof def !== 'object' || def === null) throw new RangeError(`The ${container.kind} file's buffer ${i} is not an object.`);
    if (def.uri === undefined) {
      out.push(glbBuffer(def, i, container));
      continue;
    }
    const ref = resolveResourceUri(def.uri, `buffer ${i}`);
    if (ref.kind === 'embedded') {
      out.push(ref.bytes);
      continue;
    }
    if (!loader) throw new RangeError(`The glTF file keeps buffer ${i} in the separate file "${def.uri}", and no folder was given to read it from.`);
    let data = files.get(ref.path);
    if (!data) {
      data = await loader(ref.path);
      files.set(ref.path, data);
    }
    if (data.length !== def.byteLength) {
      throw new RangeError(
        `Buffer ${i} is the file "${ref.path}", which holds ${data.length} bytes, but the glTF file says ${String(def.byteLength)}: the file is not the one the glTF file was saved with.`,
      );
    }
    out.push(data);
  }
  return out;
}

/** A buffer without a uri: the GLB's binary chunk (buffer 0 only, by the specification) or a meshopt fallback. */
function glbBuffer(def: GLTF.IBuffer, i: number, container: GltfContainer): Uint8Array | undefined {
  const meshopt = def.extensions?.['EXT_meshopt_compression'] as { fallback?: boolean } | undefined;
  if (meshopt?.fallback === true) return undefined;
  if (i === 0 && container.bin) return container.bin;
  if (container.kind === 'glTF') {
    throw new RangeError(`Buffer ${i} of the glTF file has no uri: a .gltf file names the file each buffer is in, or embeds it as a data: URI.`);
  }
  throw new RangeError(
    i === 0 ? 'Buffer 0 of the GLB file has no uri and the file has no binary chunk to hold it.' : `Buffer ${i} of the GLB file has no uri; only buffer 0 can be the GLB's binary chunk.`,
  );
}

/**
 * The resources glTF-Transform looks buffers up in, by uri. Texture images are not needed for the
 * geometry: they all stand in as empty data, so those in separate files are never opened (whatever
 * their uri) and embedded ones are not decoded.
 */
function resourceMap(container: GltfContainer, buffers: readonly (Uint8Array | undefined)[], notes: string[]): Record<string, Uint8Array> {
  // Entries rather than assignments: a uri such as "__proto__" becomes a key like any other.
  const entries: [string, Uint8Array][] = [];
  let images = 0;
  const imageDefs: unknown = container.json.images ?? [];
  if (!Array.isArray(imageDefs)) throw new RangeError(`The ${container.kind} file's "images" is not a list.`);
  for (const [i, image] of (imageDefs as GLTF.IImage[]).entries()) {
    if (typeof image !== 'object' || image === null) throw new RangeError(`The ${container.kind} file's image ${i} is not an object.`);
    const uri: unknown = image.uri;
    if (uri === undefined) continue;
    if (typeof uri !== 'string') throw new RangeError(`The ${container.kind} file's image ${i} has a uri that is not text.`);
    entries.push([uri, new Uint8Array(0)]);
    if (!/^data:/i.test(uri)) images++;
  }
  (container.json.buffers ?? []).forEach((def, i) => {
    if (def.uri !== undefined) entries.push([def.uri, buffers[i]!]);
  });
  if (container.bin) entries.push([GLB_BUFFER, container.bin]);
  if (images > 0) notes.push(`Ignored ${images} external texture image(s).`);
  return Object.fromEntries(entries);
}

// ---------------------------------------------------------------------------------------------
// Flattening

type Mat4 = ArrayLike<number>;

const TRIANGLES = 4;
const TRIANGLE_STRIP = 5;
const TRIANGLE_FAN = 6;

interface Flat {
  positions: FloatList;
  colors: FloatList | undefined;
  indices: IndexList;
  /** Vertices added so far without COLOR_0: filled with their material colour if colour shows up. */
  pendingColours: { count: number; rgb: [number, number, number] }[];
  skippedModes: number;
  morphed: number;
  skinned: number;
}

function flatten(document: Document, notes: string[]): Mesh {
  const root = document.getRoot();
  const scene = root.getDefaultScene() ?? root.listScenes()[0];
  const flat: Flat = {
    positions: new FloatList(),
    colors: undefined,
    indices: new IndexList(),
    pendingColours: [],
    skippedModes: 0,
    morphed: 0,
    skinned: 0,
  };
  const visit = (node: Node): void => addNode(node, flat);
  if (scene) {
    if (!root.getDefaultScene() && root.listScenes().length > 0) notes.push('No default scene: read the first scene.');
    scene.traverse(visit);
  } else {
    // A file without scenes still has nodes (or at least meshes): read every root node.
    const roots = root.listNodes().filter((n) => !n.getParentNode());
    if (roots.length > 0) notes.push('The file has no scene: read every top-level node.');
    for (const node of roots) node.traverse(visit);
  }
  if (flat.skippedModes > 0) notes.push(`Ignored ${flat.skippedModes} primitive(s) of points or lines.`);
  if (flat.morphed > 0) notes.push(`Morph targets were ignored (${flat.morphed} primitive(s)): the base shape was read.`);
  if (flat.skinned > 0) notes.push(`Skinning was ignored (${flat.skinned} node(s)): the bind pose was read.`);
  const positions = flat.positions.toArray();
  const indices = flat.indices.toArray();
  if (!flat.colors) return { positions, indices };
  return { positions, indices, colors: flat.colors.toArray() };
}

function addNode(node: Node, flat: Flat): void {
  const mesh = node.getMesh();
  if (!mesh) return;
  if (node.getSkin()) flat.skinned++;
  const world = node.getWorldMatrix();
  const instances = instanceMatrices(node);
  for (const primitive of mesh.listPrimitives()) {
    if (primitive.listTargets().length > 0) flat.morphed++;
    if (instances.length === 0) addPrimitive(primitive, world, flat);
    else for (const local of instances) addPrimitive(primitive, multiply(world, local), flat);
  }
}

/** EXT_mesh_gpu_instancing: one matrix per instance from its TRANSLATION/ROTATION/SCALE. */
function instanceMatrices(node: Node): Mat4[] {
  const instanced = node.getExtension<InstancedMesh>('EXT_mesh_gpu_instancing');
  if (!instanced) return [];
  const t = instanced.getAttribute('TRANSLATION');
  const r = instanced.getAttribute('ROTATION');
  const s = instanced.getAttribute('SCALE');
  const count = (t ?? r ?? s)?.getCount() ?? 0;
  const matrices: Mat4[] = [];
  const tv = [0, 0, 0];
  const rv = [0, 0, 0, 1];
  const sv = [1, 1, 1];
  for (let i = 0; i < count; i++) {
    if (t) t.getElement(i, tv);
    if (r) r.getElement(i, rv);
    if (s) s.getElement(i, sv);
    matrices.push(compose(tv, rv, sv));
  }
  return matrices;
}

function addPrimitive(primitive: Primitive, matrix: Mat4, flat: Flat): void {
  const mode = primitive.getMode();
  if (mode !== TRIANGLES && mode !== TRIANGLE_STRIP && mode !== TRIANGLE_FAN) {
    flat.skippedModes++;
    return;
  }
  const position = primitive.getAttribute('POSITION');
  if (!position || position.getCount() === 0) return;
  const base = flat.positions.length / 3;
  const count = position.getCount();
  appendPositions(position, matrix, flat.positions);

  const factor = primitive.getMaterial()?.getBaseColorFactor() ?? [1, 1, 1, 1];
  const color = primitive.getAttribute('COLOR_0');
  if (color) {
    if (!flat.colors) {
      flat.colors = new FloatList(flat.positions.data.length);
      for (const pending of flat.pendingColours) fillColour(flat.colors, pending.rgb, pending.count);
    }
    appendColours(color, factor, flat.colors);
  } else {
    const rgb: [number, number, number] = [linearToSrgb(factor[0]!), linearToSrgb(factor[1]!), linearToSrgb(factor[2]!)];
    if (flat.colors) fillColour(flat.colors, rgb, count);
    else flat.pendingColours.push({ count, rgb });
  }

  const flip = determinant3(matrix) < 0; // a mirroring transform turns outward windings inward
  appendTriangles(primitive.getIndices(), count, mode, base, flip, flat.indices);
}

function fillColour(colors: FloatList, rgb: [number, number, number], count: number): void {
  colors.fill3(rgb[0], rgb[1], rgb[2], count);
}

/** Float components as they are; normalized integers (KHR_mesh_quantization) scaled to [0,1]/[-1,1]. */
function componentReader(accessor: Accessor): { array: ArrayLike<number>; scale: number; signed: boolean } {
  const array = accessor.getArray();
  if (!array) throw new RangeError('A glTF accessor has no data.');
  if (!accessor.getNormalized()) return { array, scale: 1, signed: false };
  switch (accessor.getComponentType()) {
    case 5120: return { array, scale: 1 / 127, signed: true }; // BYTE
    case 5121: return { array, scale: 1 / 255, signed: false }; // UNSIGNED_BYTE
    case 5122: return { array, scale: 1 / 32767, signed: true }; // SHORT
    case 5123: return { array, scale: 1 / 65535, signed: false }; // UNSIGNED_SHORT
    default: return { array, scale: 1, signed: false };
  }
}

function decode(value: number, scale: number, signed: boolean): number {
  const v = value * scale;
  return signed && v < -1 ? -1 : v;
}

function appendPositions(accessor: Accessor, m: Mat4, out: FloatList): void {
  const { array, scale, signed } = componentReader(accessor);
  const size = accessor.getElementSize();
  const count = accessor.getCount();
  for (let i = 0; i < count; i++) {
    const x = decode(array[i * size]!, scale, signed);
    const y = decode(array[i * size + 1]!, scale, signed);
    const z = decode(array[i * size + 2]!, scale, signed);
    const px = m[0]! * x + m[4]! * y + m[8]! * z + m[12]!;
    const py = m[1]! * x + m[5]! * y + m[9]! * z + m[13]!;
    const pz = m[2]! * x + m[6]! * y + m[10]! * z + m[14]!;
    if (!Number.isFinite(px + py + pz)) throw new RangeError(`The glTF file has a non-finite vertex position (${i}).`);
    out.push3(px, py, pz);
  }
}

function appendColours(accessor: Accessor, factor: ArrayLike<number>, out: FloatList): void {
  const { array, scale, signed } = componentReader(accessor);
  const size = accessor.getElementSize(); // 3 (RGB) or 4 (RGBA: alpha has no place in a solid)
  const count = accessor.getCount();
  const fr = factor[0]!, fg = factor[1]!, fb = factor[2]!;
  for (let i = 0; i < count; i++) {
    out.push3(
      linearToSrgb(decode(array[i * size]!, scale, signed) * fr),
      linearToSrgb(decode(array[i * size + 1]!, scale, signed) * fg),
      linearToSrgb(decode(array[i * size + 2]!, scale, signed) * fb),
    );
  }
}

/** The sRGB transfer function (IEC 61966-2-1), input clamped to [0, 1]. */
function linearToSrgb(c: number): number {
  if (!(c > 0)) return 0;
  if (c >= 1) return 1;
  return c <= 0.0031308 ? c * 12.92 : 1.055 * Math.pow(c, 1 / 2.4) - 0.055;
}

function appendTriangles(
  indexAccessor: Accessor | null,
  vertexCount: number,
  mode: number,
  base: number,
  flip: boolean,
  out: IndexList,
): void {
  const source = indexAccessor?.getArray();
  const n = source ? source.length : vertexCount;
  const at = source ? (i: number): number => source[i]! : (i: number): number => i;
  const emit = (a: number, b: number, c: number): void => {
    const ia = at(a), ib = at(b), ic = at(c);
    if (ia >= vertexCount || ib >= vertexCount || ic >= vertexCount) {
      throw new RangeError(`A glTF primitive indexes vertex ${Math.max(ia, ib, ic)} of ${vertexCount}.`);
    }
    if (flip) out.push3(base + ia, base + ic, base + ib);
    else out.push3(base + ia, base + ib, base + ic);
  };
  if (mode === TRIANGLES) {
    for (let i = 0; i + 2 < n; i += 3) emit(i, i + 1, i + 2);
  } else if (mode === TRIANGLE_STRIP) {
    // glTF spec: triangle i is {i, i + 1 + i%2, i + 2 - i%2}, keeping every other triangle's winding.
    for (let i = 0; i + 2 < n; i++) emit(i, i + 1 + (i % 2), i + 2 - (i % 2));
  } else {
    // TRIANGLE_FAN: triangle i is {i + 1, i + 2, 0}.
    for (let i = 0; i + 2 < n; i++) emit(i + 1, i + 2, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// 4×4 column-major matrices (glTF's layout)

function determinant3(m: Mat4): number {
  return (
    m[0]! * (m[5]! * m[10]! - m[9]! * m[6]!) -
    m[4]! * (m[1]! * m[10]! - m[9]! * m[2]!) +
    m[8]! * (m[1]! * m[6]! - m[5]! * m[2]!)
  );
}

function multiply(a: Mat4, b: Mat4): Mat4 {
  const out = new Float64Array(16);
  for (let col = 0; col < 4; col++) {
    for (let row = 0; row < 4; row++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) sum += a[k * 4 + row]! * b[col * 4 + k]!;
      out[col * 4 + row] = sum;
    }
  }
  return out;
}

/** T · R · S from a translation, a unit quaternion (x, y, z, w) and a scale. */
function compose(t: number[], q: number[], s: number[]): Mat4 {
  const [x, y, z, w] = q as [number, number, number, number];
  const [sx, sy, sz] = s as [number, number, number];
  return Float64Array.of(
    (1 - 2 * (y * y + z * z)) * sx, 2 * (x * y + z * w) * sx, 2 * (x * z - y * w) * sx, 0,
    2 * (x * y - z * w) * sy, (1 - 2 * (x * x + z * z)) * sy, 2 * (y * z + x * w) * sy, 0,
    2 * (x * z + y * w) * sz, 2 * (y * z - x * w) * sz, (1 - 2 * (x * x + y * y)) * sz, 0,
    t[0]!, t[1]!, t[2]!, 1,
  );
}
