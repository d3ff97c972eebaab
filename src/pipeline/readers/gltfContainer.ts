import type { GLTF } from '@gltf-transform/core';

/**
 * The two ways a glTF asset is stored: a .gltf JSON text, or a GLB container (a 12-byte header, a
 * JSON chunk, then an optional binary chunk holding buffer 0). Parsed here rather than by
 * glTF-Transform's binaryToJSON, which refuses any GLB whose other buffers are separate files and
 * names neither what is truncated nor where.
 */

export interface GltfContainer {
  readonly json: GLTF.IGLTF;
  /** The GLB's binary chunk: the data of its buffer without a uri. */
  readonly bin: Uint8Array | undefined;
  /** How messages name the file. */
  readonly kind: 'GLB' | 'glTF';
}

const MAGIC_GLTF = 0x46546c67; // "glTF"
const CHUNK_JSON = 0x4e4f534a; // "JSON"
const CHUNK_BIN = 0x004e4942; // "BIN\0"

export function parseGltfContainer(bytes: Uint8Array): GltfContainer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 4 && view.getUint32(0, true) === MAGIC_GLTF) return parseGlb(bytes, view);
  const json = parseJson(bytes, 'The file is neither a GLB (no "glTF" magic) nor glTF JSON.');
  return { json: checkDocument(json, 'The JSON file is not a glTF document (no "asset").'), bin: undefined, kind: 'glTF' };
}

function parseGlb(bytes: Uint8Array, view: DataView): GltfContainer {
  if (bytes.length < 20) throw new RangeError(`The GLB file is truncated: ${bytes.length} bytes, too short for its header.`);
  const version = view.getUint32(4, true);
  if (version !== 2) throw new RangeError(`The GLB file is version ${version}; only glTF 2.0 files are read.`);
  const length = view.getUint32(8, true);
  if (length > bytes.length) throw new RangeError(`The GLB file is truncated: its header says ${length} bytes but it has ${bytes.length}.`);
  const jsonLength = view.getUint32(12, true);
  if (view.getUint32(16, true) !== CHUNK_JSON) throw new RangeError('The GLB file is malformed: its first chunk is not JSON.');
  const jsonEnd = 20 + jsonLength;
  if (jsonEnd > length) throw new RangeError(`The GLB file is truncated: its JSON chunk of ${jsonLength} bytes runs past the file's end.`);
  const json = parseJson(bytes.subarray(20, jsonEnd), 'The GLB file is malformed: its JSON chunk is not valid JSON.');
  let bin: Uint8Array | undefined;
  // Chunks start 4-aligned by the specification; some writers do not pad, so read where the JSON ends.
  if (jsonEnd + 8 <= length && view.getUint32(jsonEnd + 4, true) === CHUNK_BIN) {
    const binLength = view.getUint32(jsonEnd, true);
    if (jsonEnd + 8 + binLength > length) {
      throw new RangeError(`The GLB file is truncated: its binary chunk of ${binLength} bytes runs past the file's end.`);
    }
    bin = bytes.subarray(jsonEnd + 8, jsonEnd + 8 + binLength);
  }
  return { json: checkDocument(json, 'The GLB file is malformed: its JSON is not a glTF document (no "asset").'), bin, kind: 'GLB' };
}

function parseJson(bytes: Uint8Array, message: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new RangeError(message);
  }
}

function checkDocument(json: unknown, message: string): GLTF.IGLTF {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !('asset' in json)) throw new RangeError(message);
  return json as GLTF.IGLTF;
}
