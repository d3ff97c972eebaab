/**
 * Vertices as the STEP file will hold them: coordinates rounded to the written grid, and vertices
 * that round to the same grid point merged. Merging on the rounded value means two vertices the file
 * could not tell apart are never two topological vertices.
 */

/** Decimals written for coordinates: 1 nm at millimetre units, below float32 resolution at part sizes. */
export const COORD_DECIMALS = 6;
/** Grid points per millimetre. */
export const GRID_PER_MM = 10 ** COORD_DECIMALS;
/** Coordinates beyond this (1000 km) would lose grid digits in a double. */
const MAX_COORD_MM = 1e9;

export interface WeldedVertices {
  /** Number of welded vertices. */
  readonly count: number;
  /** x, y, z per welded vertex, in grid units: integers, exactly the digits the file holds. */
  readonly grid: Float64Array;
  /** The same coordinates in millimetres, for geometry. */
  readonly coords: Float64Array;
  /** Triangles over welded vertices, with triangles that weld down to a repeated vertex dropped. */
  readonly triangles: Int32Array;
  /** Largest coordinate magnitude in millimetres: float32 input carries about 2^-24 of this as noise. */
  readonly maxAbs: number;
}

/**
 * Welds the vertices the given triangles use. Keys are the integer grid coordinates in an
 * open-addressing hash table (no strings, no Map), so a million vertices take a few tens of
 * milliseconds and a few tens of megabytes.
 */
export function weldTriangles(positions: Float32Array, triangles: Uint32Array): WeldedVertices {
  const vertexCount = positions.length / 3;
  let size = 16;
  while (size < vertexCount * 2) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size).fill(-1);
  const weldOf = new Int32Array(vertexCount).fill(-1);
  // Welded vertices never outnumber the input's; trimmed at the end.
  const grid = new Float64Array(Math.min(vertexCount, triangles.length) * 3);
  let count = 0;
  let maxAbs = 0;

  const weld = (v: number): number => {
    const known = weldOf[v]!;
    if (known >= 0) return known;
    const x = toGrid(positions[v * 3]!);
    const y = toGrid(positions[v * 3 + 1]!);
    const z = toGrid(positions[v * 3 + 2]!);
    let slot = hashGrid(x, y, z) & mask;
    for (;;) {
      const w = slots[slot]!;
      if (w < 0) break;
      if (grid[w * 3] === x && grid[w * 3 + 1] === y && grid[w * 3 + 2] === z) {
        weldOf[v] = w;
        return w;
      }
      slot = (slot + 1) & mask;
    }
    const w = count++;
    slots[slot] = w;
    grid[w * 3] = x;
    grid[w * 3 + 1] = y;
    grid[w * 3 + 2] = z;
    maxAbs = Math.max(maxAbs, Math.abs(x), Math.abs(y), Math.abs(z));
    weldOf[v] = w;
    return w;
  };

  const out = new Int32Array(triangles.length);
  let n = 0;
  for (let t = 0; t < triangles.length; t += 3) {
    const a = weld(triangles[t]!);
    const b = weld(triangles[t + 1]!);
    const c = weld(triangles[t + 2]!);
    // A triangle with a repeated vertex uses each of its two edges once in each direction, so dropping
    // it leaves every other triangle's edges paired as before: closed stays closed.
    if (a === b || b === c || a === c) continue;
    out[n++] = a;
    out[n++] = b;
    out[n++] = c;
  }
  const trimmed = grid.slice(0, count * 3);
  const coords = new Float64Array(count * 3);
  for (let i = 0; i < coords.length; i++) coords[i] = trimmed[i]! / GRID_PER_MM;
  return { count, grid: trimmed, coords, triangles: out.slice(0, n), maxAbs: maxAbs / GRID_PER_MM };
}

/** A coordinate in millimetres as an integer number of grid steps. */
function toGrid(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`Cannot write a non-finite coordinate (${x}) to STEP.`);
  if (Math.abs(x) >= MAX_COORD_MM) throw new RangeError(`Coordinate ${x} mm is too large for STEP.`);
  // + 0 turns -0 into 0, so the two weld together and never print as "-0.".
  return Math.round(x * GRID_PER_MM) + 0;
}

/** Mixes three integers of up to 2^50 into 32 bits; the high words are folded in for huge coordinates. */
function hashGrid(x: number, y: number, z: number): number {
  let h = Math.imul((x | 0) ^ ((x / 4294967296) | 0), 0x9e3779b1);
  h = Math.imul(h ^ (y | 0) ^ ((y / 4294967296) | 0), 0x85ebca77);
  h = Math.imul(h ^ (z | 0) ^ ((z / 4294967296) | 0), 0xc2b2ae3d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
