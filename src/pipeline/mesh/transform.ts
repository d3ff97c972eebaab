import type { Mesh } from './mesh.js';

/**
 * The network's frame: Z up, the camera looks from +X towards the origin, image-right is +Y.
 * Each consumer has its own convention:
 * - glTF: Y up, the front faces +Z (a default camera looks down −Z), right is +X, metres.
 * - CAD: Z up, the front faces −Y (the "front" view looks along +Y), right is +X, millimetres.
 * Both are proper rotations of the network frame, so winding (outward normals) is preserved.
 */
export type TargetFrame = 'gltf' | 'cad';

type Rotation = (x: number, y: number, z: number) => [number, number, number];

const ROTATIONS: Record<TargetFrame, Rotation> = {
  gltf: (x, y, z) => [y, z, x],
  cad: (x, y, z) => [y, -x, z],
};

const UNITS_PER_MM: Record<TargetFrame, number> = { gltf: 0.001, cad: 1 };

/**
 * Rotates into the target frame, scales so the longest side of the bounding box is `longestSideMm`,
 * and places the object centred over the origin with its lowest point on the ground plane.
 */
export function toFrame(mesh: Mesh, frame: TargetFrame, longestSideMm: number): Mesh {
  const rotate = ROTATIONS[frame];
  const n = mesh.positions.length / 3;
  const out = new Float32Array(mesh.positions.length);
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const r = rotate(mesh.positions[3 * i], mesh.positions[3 * i + 1], mesh.positions[3 * i + 2]);
    for (let a = 0; a < 3; a++) {
      out[3 * i + a] = r[a];
      if (r[a] < min[a]) min[a] = r[a];
      if (r[a] > max[a]) max[a] = r[a];
    }
  }
  const longest = n > 0 ? Math.max(max[0] - min[0], max[1] - min[1], max[2] - min[2]) : 0;
  const scale = longest > 0 ? (longestSideMm * UNITS_PER_MM[frame]) / longest : 1;
  const up = frame === 'gltf' ? 1 : 2;
  const shift = [0, 1, 2].map((a) => (a === up ? -min[a] : -(min[a] + max[a]) / 2));
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) out[3 * i + a] = (out[3 * i + a] + shift[a]) * scale;
  }
  let normals: Float32Array | undefined;
  if (mesh.normals) {
    normals = new Float32Array(mesh.normals.length);
    for (let i = 0; i < n; i++) {
      const r = rotate(mesh.normals[3 * i], mesh.normals[3 * i + 1], mesh.normals[3 * i + 2]);
      normals[3 * i] = r[0];
      normals[3 * i + 1] = r[1];
      normals[3 * i + 2] = r[2];
    }
  }
  return { positions: out, indices: mesh.indices, colors: mesh.colors, normals };
}
