/**
 * The one contract between the extension host and the preview webview. Both sides import these types;
 * every message is checked on arrival, since a webview is a separate, untrusted-by-default context.
 */

export interface PreviewMesh {
  readonly positions: Float32Array;
  readonly normals: Float32Array;
  readonly colors: Float32Array;
  readonly indices: Uint32Array;
}

export interface PreviewMetrics {
  readonly vertices: number;
  readonly faces: number;
  readonly components: number;
  readonly watertight: boolean;
  readonly volumeMm3: number;
  readonly areaMm2: number;
  readonly sizeMm: readonly [number, number, number];
}

export interface PreviewInfo {
  readonly title: string;
  /** Label and value rows about where the mesh came from: the model and provider, or the source file. */
  readonly details: readonly (readonly [string, string])[];
  readonly files: readonly string[];
  readonly metrics: PreviewMetrics;
  readonly seconds: number;
  /** What the mesh stage changed, one short line each. */
  readonly notes: readonly string[];
}

/** The figures the preview shows, from the pipeline's metrics (CAD frame, millimetres). */
export function previewMetrics(m: {
  readonly vertices: number;
  readonly faces: number;
  readonly components: number;
  readonly watertight: boolean;
  readonly volume: number;
  readonly area: number;
  readonly bbox: { readonly min: readonly number[]; readonly max: readonly number[] };
}): PreviewMetrics {
  return {
    vertices: m.vertices,
    faces: m.faces,
    components: m.components,
    watertight: m.watertight,
    volumeMm3: m.volume,
    areaMm2: m.area,
    sizeMm: [0, 1, 2].map((a) => (m.bbox.max[a] ?? 0) - (m.bbox.min[a] ?? 0)) as [number, number, number],
  };
}

export type HostToWebview = {
  readonly type: 'show';
  readonly mesh: PreviewMesh;
  readonly info: PreviewInfo;
  /** The image the network took (PNG), shown beside the mesh; absent for a converted mesh file. */
  readonly inputPng?: Uint8Array;
};

export type WebviewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'rendered'; readonly triangles: number }
  /** The input image decoded and is on screen, at this natural size. */
  | { readonly type: 'inputShown'; readonly width: number; readonly height: number }
  | { readonly type: 'error'; readonly message: string };

/** Far above a 512² RGB PNG (at most about 800 KB); anything larger is not ours. */
export const MAX_PREVIEW_PNG_BYTES = 16 * 1024 * 1024;
/** Largest side accepted in a preview image's header. */
export const MAX_PREVIEW_IMAGE_SIDE = 4096;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isWebviewToHost(value: unknown): value is WebviewToHost {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'ready':
      return true;
    case 'rendered':
      return typeof value.triangles === 'number' && Number.isFinite(value.triangles);
    case 'inputShown':
      return isImageSide(value.width) && isImageSide(value.height);
    case 'error':
      return typeof value.message === 'string';
    default:
      return false;
  }
}

/** Typed arrays survive postMessage as typed arrays in current VS Code; older hosts send plain buffers. */
export function asFloat32(value: unknown): Float32Array | undefined {
  if (value instanceof Float32Array) return value;
  if (value instanceof ArrayBuffer) return new Float32Array(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return Float32Array.from(value);
  return undefined;
}

export function asUint32(value: unknown): Uint32Array | undefined {
  if (value instanceof Uint32Array) return value;
  if (value instanceof ArrayBuffer) return new Uint32Array(value);
  if (Array.isArray(value) && value.every((v) => Number.isInteger(v) && v >= 0)) return Uint32Array.from(value);
  return undefined;
}

export function asUint8(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (Array.isArray(value) && value.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) return Uint8Array.from(value);
  return undefined;
}

function isImageSide(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_PREVIEW_IMAGE_SIDE;
}

/**
 * The bytes as a PNG the preview may show, or undefined: within the size limit, with PNG's signature
 * and an IHDR chunk first whose width and height are within bounds. The browser decodes the rest; a
 * file that passes here and still fails to decode is reported by the webview.
 */
export function asPreviewPng(value: unknown): Uint8Array | undefined {
  const bytes = asUint8(value);
  if (!bytes || bytes.length < 8 + 8 + 13 + 4 || bytes.length > MAX_PREVIEW_PNG_BYTES) return undefined;
  if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ihdr = String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!);
  if (view.getUint32(8) !== 13 || ihdr !== 'IHDR') return undefined;
  return isImageSide(view.getUint32(16)) && isImageSide(view.getUint32(20)) ? bytes : undefined;
}

/** Checks a message from the host and returns it with its arrays typed, or undefined if malformed. */
export function parseHostToWebview(value: unknown): HostToWebview | undefined {
  if (!isRecord(value) || value.type !== 'show' || !isRecord(value.mesh) || !isRecord(value.info)) return undefined;
  const positions = asFloat32(value.mesh.positions);
  const normals = asFloat32(value.mesh.normals);
  const colors = asFloat32(value.mesh.colors);
  const indices = asUint32(value.mesh.indices);
  if (!positions || !normals || !colors || !indices) return undefined;
  const vertices = positions.length / 3;
  if (!Number.isInteger(vertices) || normals.length !== positions.length || colors.length !== positions.length) return undefined;
  if (indices.length % 3 !== 0 || indices.some((i) => i >= vertices)) return undefined;
  const info = value.info;
  if (typeof info.title !== 'string' || !isRecord(info.metrics) || !Array.isArray(info.files)) return undefined;
  if (!Array.isArray(info.notes) || !info.notes.every((n) => typeof n === 'string')) return undefined;
  const isRow = (row: unknown): boolean => Array.isArray(row) && row.length === 2 && row.every((c) => typeof c === 'string');
  if (!Array.isArray(info.details) || !info.details.every(isRow)) return undefined;
  const mesh = { positions, normals, colors, indices };
  if (value.inputPng === undefined) return { type: 'show', mesh, info: info as unknown as PreviewInfo };
  const inputPng = asPreviewPng(value.inputPng);
  if (!inputPng) return undefined;
  return { type: 'show', mesh, info: info as unknown as PreviewInfo, inputPng };
}
