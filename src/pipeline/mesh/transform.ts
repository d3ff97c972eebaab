import type { Mesh } from './mesh.js';
import type { UpAxis } from '../readers/formats.js';

/**
 * The frames meshes move between, and the rotations that take them there.
 *
 * The network's frame: Z up, the camera looks from +X towards the origin, image-right is +Y.
 * Each consumer has its own convention:
 * - glTF: Y up, the front faces +Z (a default camera looks down −Z), right is +X, metres.
 * - CAD: Z up, the front faces −Y (the "front" view looks along +Y), right is +X, millimetres.
 * Every rotation here is proper (no mirroring), so winding, and with it outward normals, is preserved;
 * normals, when a mesh has them, are rotated with it rather than computed again.
 */
export type TargetFrame = 'gltf' | 'cad';

type Rotation = (x: number, y: number, z: number) => [number, number, number];

const FROM_NETWORK: Record<TargetFrame, Rotation> = {
  gltf: (x, y, z) => [y, z, x],
  cad: (x, y, z) => [y, -x, z],
};

/** A Y-up file follows glTF's convention (front towards +Z), so its front ends up facing −Y, the CAD front view. */
const Y_UP_TO_CAD: Rotation = (x, y, z) => [x, -z, y];
const Z_UP_TO_CAD: Rotation = (x, y, z) => [x, y, z];
/** The inverse of Y_UP_TO_CAD. */
const CAD_TO_GLTF: Rotation = (x, y, z) => [x, z, -y];

const UNITS_PER_MM: Record<TargetFrame, number> = { gltf: 0.001, cad: 1 };

/**
 * From the network's frame: rotates into the target frame, scales so the longest side of the bounding
 * box is `longestSideMm`, and places the object centred over the origin with its lowest point on the
 * ground plane, judged by the bounding box of `placedBy` (the mesh itself unless given).
 */
export function toFrame(mesh: Mesh, frame: TargetFrame, longestSideMm: number, placedBy: ArrayLike<number> = mesh.positions): Mesh {
  const rotate = FROM_NETWORK[frame];
  const n = mesh.positions.length / 3;
  const out = new Float32Array(mesh.positions.length);
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const r = rotate(mesh.positions[3 * i], mesh.positions[3 * i + 1], mesh.positions[3 * i + 2]);
    for (let a = 0; a < 3; a++) out[3 * i + a] = r[a];
  }
  // Scale and placement come from `placedBy` (another mesh of the same object, say), so two meshes of
  // one model land on the same spot at the same size.
  for (let i = 0; i + 2 < placedBy.length; i += 3) {
    const r = rotate(placedBy[i]!, placedBy[i + 1]!, placedBy[i + 2]!);
    for (let a = 0; a < 3; a++) {
      if (r[a] < min[a]) min[a] = r[a];
      if (r[a] > max[a]) max[a] = r[a];
    }
  }
  const longest = placedBy.length >= 3 ? Math.max(max[0] - min[0], max[1] - min[1], max[2] - min[2]) : 0;
  const scale = longest > 0 ? (longestSideMm * UNITS_PER_MM[frame]) / longest : 1;
  const up = frame === 'gltf' ? 1 : 2;
  const shift = [0, 1, 2].map((a) => (a === up ? -min[a] : -(min[a] + max[a]) / 2));
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) out[3 * i + a] = (out[3 * i + a] + shift[a]) * scale;
  }
  return { positions: out, indices: mesh.indices, colors: mesh.colors, normals: rotated(mesh.normals, rotate) };
}

/** A mesh file's axes to CAD's, Z up and millimetres, keeping its position: a part lands where it was. */
export function toCadFrame(mesh: Mesh, up: UpAxis, millimetresPerUnit: number): Mesh {
  const rotate = up === 'y' ? Y_UP_TO_CAD : Z_UP_TO_CAD;
  const p = mesh.positions;
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i += 3) {
    const r = rotate(p[i]!, p[i + 1]!, p[i + 2]!);
    out[i] = r[0] * millimetresPerUnit;
    out[i + 1] = r[1] * millimetresPerUnit;
    out[i + 2] = r[2] * millimetresPerUnit;
  }
  return { positions: out, indices: mesh.indices, colors: mesh.colors, normals: rotated(mesh.normals, rotate) };
}

/** CAD (Z up, mm) to glTF (Y up, m), keeping position. */
export function cadToGltf(mesh: Mesh): Mesh {
  const p = mesh.positions;
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i += 3) {
    const r = CAD_TO_GLTF(p[i]!, p[i + 1]!, p[i + 2]!);
    // Divided, not multiplied by 0.001, which binary cannot hold exactly: one rounding instead of two.
    out[i] = r[0] / 1000;
    out[i + 1] = r[1] / 1000;
    out[i + 2] = r[2] / 1000;
  }
  return { positions: out, indices: mesh.indices, colors: mesh.colors, normals: rotated(mesh.normals, CAD_TO_GLTF) };
}

/** Unit vectors through a rotation: neither scale nor shift applies to a direction. */
function rotated(vectors: Float32Array | undefined, rotate: Rotation): Float32Array | undefined {
  if (!vectors) return undefined;
  const out = new Float32Array(vectors.length);
  for (let i = 0; i < vectors.length; i += 3) {
    const r = rotate(vectors[i]!, vectors[i + 1]!, vectors[i + 2]!);
    out[i] = r[0];
    out[i + 1] = r[1];
    out[i + 2] = r[2];
  }
  return out;
}
