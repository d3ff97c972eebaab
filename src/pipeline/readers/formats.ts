/**
 * Which mesh files the converter reads and the conventions it may assume for them. Kept apart from the
 * readers themselves so the extension host can name formats and settings without loading them.
 */

export type MeshFileFormat = 'obj' | 'stl' | 'ply' | 'glb';

/** The axis a mesh file's "up" is along. */
export type UpAxis = 'y' | 'z';
/** Length units a mesh file's numbers may be in. */
export type LengthUnit = 'mm' | 'cm' | 'm' | 'in';

export const LENGTH_UNITS: readonly LengthUnit[] = Object.freeze(['mm', 'cm', 'm', 'in'] as const);

/** File extensions (without the dot, lower case) that readMeshFile reads, for pickers and help text. */
export const MESH_FILE_EXTENSIONS: readonly string[] = Object.freeze(['obj', 'stl', 'ply', 'glb', 'gltf']);

const EXTENSIONS: Record<string, MeshFileFormat> = {
  obj: 'obj',
  stl: 'stl',
  ply: 'ply',
  glb: 'glb',
  gltf: 'glb', // the glTF reader takes JSON glTF (buffers embedded or in files beside it) as well as GLB
};

/** The format a path's extension names (case-insensitive), or undefined for other files. */
export function meshFormatOfPath(path: string): MeshFileFormat | undefined {
  const extension = extensionOf(path);
  return extension !== undefined && Object.prototype.hasOwnProperty.call(EXTENSIONS, extension) ? EXTENSIONS[extension] : undefined;
}

/**
 * How messages name a mesh file's format: "glTF" for a .gltf (read by the GLB reader, but a user who
 * saved JSON glTF would not recognise "GLB"), otherwise the format in capitals.
 */
export function meshFormatLabel(path: string): string {
  if (extensionOf(path) === 'gltf') return 'glTF';
  return meshFormatOfPath(path)?.toUpperCase() ?? 'a mesh file';
}

function extensionOf(path: string): string | undefined {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? undefined : name.slice(dot + 1).toLowerCase();
}
