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

export type HostToWebview = { readonly type: 'show'; readonly mesh: PreviewMesh; readonly info: PreviewInfo };

export type WebviewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'rendered'; readonly triangles: number }
  | { readonly type: 'error'; readonly message: string };

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
  return { type: 'show', mesh: { positions, normals, colors, indices }, info: info as unknown as PreviewInfo };
}
