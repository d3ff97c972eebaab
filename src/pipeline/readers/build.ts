import type { Mesh } from '../mesh/mesh.js';
import { weldVertices } from '../mesh/weld.js';

/** Growable typed arrays for readers that do not know their sizes up front (OBJ, ASCII STL, glTF). */

export class FloatList {
  data: Float32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Float32Array(Math.max(16, capacity));
  }

  push3(x: number, y: number, z: number): void {
    if (this.length + 3 > this.data.length) this.grow(this.length + 3);
    const d = this.data;
    d[this.length] = x;
    d[this.length + 1] = y;
    d[this.length + 2] = z;
    this.length += 3;
  }

  /** Appends `count` copies of (x, y, z). */
  fill3(x: number, y: number, z: number, count: number): void {
    for (let i = 0; i < count; i++) this.push3(x, y, z);
  }

  toArray(): Float32Array {
    return this.data.slice(0, this.length);
  }

  private grow(needed: number): void {
    let size = this.data.length * 2;
    while (size < needed) size *= 2;
    const bigger = new Float32Array(size);
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }
}

export class IndexList {
  data: Uint32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Uint32Array(Math.max(16, capacity));
  }

  push(i: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = i;
  }

  push3(a: number, b: number, c: number): void {
    if (this.length + 3 > this.data.length) this.grow(this.length + 3);
    const d = this.data;
    d[this.length] = a;
    d[this.length + 1] = b;
    d[this.length + 2] = c;
    this.length += 3;
  }

  toArray(): Uint32Array {
    return this.data.slice(0, this.length);
  }

  private grow(needed: number): void {
    let size = this.data.length * 2;
    while (size < needed) size *= 2;
    const bigger = new Uint32Array(size);
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }
}

/**
 * The common end of every reader: welds coincident vertices (formats such as STL store every triangle
 * separately) and records what welding removed. A file without triangles gives an empty mesh, not an
 * error: the caller words that case for the user (the notes say what the file held instead).
 */
export function finishMesh(raw: Mesh, notes: string[]): Mesh {
  const mesh = weldVertices(raw);
  const before = raw.indices.length / 3;
  const after = mesh.indices.length / 3;
  if (after < before) {
    notes.push(`Dropped ${before - after} degenerate triangle(s) whose corners coincide.`);
  }
  return mesh;
}

/** Checks a mesh's coordinates before welding: NaN and infinities have no place in a model. */
export function checkFinitePositions(positions: Float32Array, what: string): void {
  for (let i = 0; i < positions.length; i++) {
    if (!Number.isFinite(positions[i])) {
      throw new RangeError(`The ${what} file has a non-finite coordinate (vertex ${Math.floor(i / 3)}).`);
    }
  }
}
