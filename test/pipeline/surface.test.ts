import { test } from 'node:test';
import assert from 'node:assert/strict';

import type { Mesh } from '../../src/pipeline/mesh/mesh.js';
import { meshMetrics } from '../../src/pipeline/mesh/metrics.js';
import { vertexNormals } from '../../src/pipeline/mesh/normals.js';
import { CancelledError } from '../../src/pipeline/progress.js';
import { gridIndexToWorld, sampleDenseGrid, type DensityQuery } from '../../src/pipeline/surface/grid.js';
import { marchingCubes } from '../../src/pipeline/surface/marchingCubes.js';

const RADIUS = 0.87;

type Sdf = (x: number, y: number, z: number) => number;

function queryOf(sdf: Sdf): DensityQuery {
  return async (points) => {
    const out = new Float32Array(points.length / 3);
    for (let p = 0; p < out.length; p++) out[p] = sdf(points[3 * p]!, points[3 * p + 1]!, points[3 * p + 2]!);
    return out;
  };
}

async function worldMesh(sdf: Sdf, resolution: number): Promise<Mesh> {
  const field = await sampleDenseGrid(queryOf(sdf), resolution);
  const { positions, indices } = marchingCubes(field, [resolution, resolution, resolution], 0);
  return { positions: gridIndexToWorld(positions, resolution), indices };
}

const sphere = (cx: number, cy: number, cz: number, r: number): Sdf => (x, y, z) => r - Math.hypot(x - cx, y - cy, z - cz);

function assertUniqueVertices(positions: Float32Array): void {
  const seen = new Set<string>();
  for (let v = 0; v < positions.length; v += 3) {
    const key = `${positions[v]},${positions[v + 1]},${positions[v + 2]}`;
    assert.ok(!seen.has(key), `duplicate vertex at ${key}`);
    seen.add(key);
  }
}

function zeroAreaTriangles(mesh: Mesh): number {
  const { positions: p, indices: t } = mesh;
  let zero = 0;
  for (let f = 0; f < t.length; f += 3) {
    const a = 3 * t[f]!, b = 3 * t[f + 1]!, c = 3 * t[f + 2]!;
    const ux = p[b]! - p[a]!, uy = p[b + 1]! - p[a + 1]!, uz = p[b + 2]! - p[a + 2]!;
    const wx = p[c]! - p[a]!, wy = p[c + 1]! - p[a + 1]!, wz = p[c + 2]! - p[a + 2]!;
    if (Math.hypot(uy * wz - uz * wy, uz * wx - ux * wz, ux * wy - uy * wx) === 0) zero++;
  }
  return zero;
}

/** Volume of a sphere clipped to the cube [-b, b]^3, by midpoint integration of clipped z-chords. */
function clippedSphereVolume(cx: number, cy: number, cz: number, r: number, b: number, steps = 2000): number {
  const x0 = Math.max(cx - r, -b), x1 = Math.min(cx + r, b);
  const y0 = Math.max(cy - r, -b), y1 = Math.min(cy + r, b);
  const dx = (x1 - x0) / steps, dy = (y1 - y0) / steps;
  let sum = 0;
  for (let i = 0; i < steps; i++) {
    const x = x0 + (i + 0.5) * dx;
    for (let j = 0; j < steps; j++) {
      const y = y0 + (j + 0.5) * dy;
      const h2 = r * r - (x - cx) ** 2 - (y - cy) ** 2;
      if (h2 <= 0) continue;
      const h = Math.sqrt(h2);
      const len = Math.min(cz + h, b) - Math.max(cz - h, -b);
      if (len > 0) sum += len;
    }
  }
  return sum * dx * dy;
}

/** Small deterministic generator (xorshift32) so failing seeds can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Crossed grid edges plus inside boundary samples (each closes the solid with one cap vertex). */
function expectedVertexCount(field: Float32Array, dims: readonly [number, number, number], iso: number): number {
  const [nx, ny, nz] = dims;
  const inside = (i: number, j: number, k: number): boolean => field[(i * ny + j) * nz + k]! >= iso;
  let count = 0;
  for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) for (let k = 0; k < nz; k++) {
    const here = inside(i, j, k);
    if (i + 1 < nx && here !== inside(i + 1, j, k)) count++;
    if (j + 1 < ny && here !== inside(i, j + 1, k)) count++;
    if (k + 1 < nz && here !== inside(i, j, k + 1)) count++;
    const onBoundary = i === 0 || j === 0 || k === 0 || i === nx - 1 || j === ny - 1 || k === nz - 1;
    if (here && onBoundary) count++;
  }
  return count;
}

function assertClosed(mesh: Mesh, label: string): ReturnType<typeof meshMetrics> {
  const m = meshMetrics(mesh);
  assert.equal(m.boundaryEdges, 0, `${label}: boundary edges`);
  assert.equal(m.nonManifoldEdges, 0, `${label}: non-manifold or inconsistently oriented edges`);
  assert.ok(m.watertight, `${label}: watertight`);
  return m;
}

test('sphere at resolution 128: closed, one piece, accurate volume, unique vertices, outward normals', async () => {
  const r = 0.5;
  const mesh = await worldMesh(sphere(0, 0, 0, r), 128);
  const m = assertClosed(mesh, 'sphere');
  assert.equal(m.components, 1);
  const exact = (4 / 3) * Math.PI * r ** 3;
  assert.ok(m.volume > 0, 'positive volume');
  assert.ok(Math.abs(m.volume - exact) / exact < 0.015, `volume ${m.volume} vs ${exact}`);
  assertUniqueVertices(mesh.positions);
  assert.equal(zeroAreaTriangles(mesh), 0);

  const normals = vertexNormals(mesh.positions, mesh.indices);
  for (let v = 0; v < normals.length; v += 3) {
    const p = [mesh.positions[v]!, mesh.positions[v + 1]!, mesh.positions[v + 2]!];
    const len = Math.hypot(p[0]!, p[1]!, p[2]!);
    const dot = (normals[v]! * p[0]! + normals[v + 1]! * p[1]! + normals[v + 2]! * p[2]!) / len;
    assert.ok(dot > 0.95, `normal at vertex ${v / 3} not radial (${dot})`);
    assert.ok(Math.abs(Math.hypot(normals[v]!, normals[v + 1]!, normals[v + 2]!) - 1) < 1e-5);
  }
});

test('torus: closed with volume within 2% of 2π²Rr²', async () => {
  const R = 0.5, r = 0.18;
  const mesh = await worldMesh((x, y, z) => r - Math.hypot(Math.hypot(x, y) - R, z), 128);
  const m = assertClosed(mesh, 'torus');
  assert.equal(m.components, 1);
  const exact = 2 * Math.PI ** 2 * R * r * r;
  assert.ok(Math.abs(m.volume - exact) / exact < 0.02, `volume ${m.volume} vs ${exact}`);
});

test('spheres cut by the grid boundary are closed by flat caps with the clipped volume', async () => {
  const s1 = [0.7, 0.05, -0.1, 0.35] as const; // through one face
  const s2 = [-0.6, -0.62, 0.6, 0.42] as const; // through a face, an edge and near a corner of the box
  const sdf: Sdf = (x, y, z) => Math.max(sphere(...s1)(x, y, z), sphere(...s2)(x, y, z));
  const resolution = 96;
  const mesh = await worldMesh(sdf, resolution);
  const m = assertClosed(mesh, 'clipped spheres');
  assert.equal(m.components, 2);
  assertUniqueVertices(mesh.positions);
  assert.equal(zeroAreaTriangles(mesh), 0);
  const exact = clippedSphereVolume(...s1, RADIUS) + clippedSphereVolume(...s2, RADIUS);
  assert.ok(exact < (4 / 3) * Math.PI * (s1[3] ** 3 + s2[3] ** 3) * 0.97, 'the spheres really are clipped');
  assert.ok(Math.abs(m.volume - exact) / exact < 0.015, `volume ${m.volume} vs clipped ${exact}`);
  for (let a = 0; a < 3; a++) {
    assert.ok(m.bbox.max[a]! <= RADIUS + 1e-6 && m.bbox.min[a]! >= -RADIUS - 1e-6, 'caps lie on the box');
  }
  assert.ok(Math.abs(m.bbox.max[0]! - RADIUS) < 1e-6 && Math.abs(m.bbox.min[1]! + RADIUS) < 1e-6);
});

test('a thin tilted plate (about 2 voxels thick) crossing the whole grid is closed', async () => {
  const resolution = 64;
  const voxel = (2 * RADIUS) / (resolution - 1);
  const n = [0.3, 0.2, 1];
  const len = Math.hypot(n[0]!, n[1]!, n[2]!);
  const mesh = await worldMesh((x, y, z) => voxel - Math.abs((n[0]! * x + n[1]! * y + n[2]! * z) / len - 0.01), resolution);
  const m = assertClosed(mesh, 'plate');
  assert.equal(m.components, 1);
  assert.ok(m.volume > 0);
});

test('random noise fields are closed and consistently oriented', () => {
  const shapes: [number, number, number][] = [];
  for (let s = 0; s < 20; s++) shapes.push([12, 12, 12]);
  // Short odd shapes and z extents around the 32-sample word boundaries of the bit masks.
  shapes.push([2, 3, 5], [3, 2, 2], [7, 4, 3], [2, 2, 9], [3, 3, 30], [3, 3, 31], [2, 4, 62], [3, 2, 63], [4, 5, 70]);
  let zeroArea = 0;
  shapes.forEach((dims, seed) => {
    const next = rng(seed + 1);
    const field = new Float32Array(dims[0] * dims[1] * dims[2]);
    for (let i = 0; i < field.length; i++) field[i] = next();
    const { positions, indices } = marchingCubes(field, dims, 0.5);
    const mesh = { positions, indices };
    const m = assertClosed(mesh, `seed ${seed} ${dims.join('x')}`);
    assert.ok(m.volume > 0, `seed ${seed}: volume ${m.volume}`);
    assertUniqueVertices(positions);
    assert.equal(positions.length / 3, expectedVertexCount(field, dims, 0.5), `seed ${seed}: one vertex per crossed edge and inside boundary sample`);
    zeroArea += zeroAreaTriangles(mesh);
  });
  // Interpolated crossings can in principle line up exactly; closedness above must hold regardless.
  assert.equal(zeroArea, 0);
});

test('non-finite samples (NaN counts as outside) still give a closed surface with finite vertices', () => {
  const next = rng(99);
  const dims: [number, number, number] = [9, 8, 7];
  const field = new Float32Array(dims[0] * dims[1] * dims[2]);
  const specials = [NaN, Infinity, -Infinity];
  for (let i = 0; i < field.length; i++) field[i] = next() < 0.2 ? specials[i % 3]! : next();
  const mesh = marchingCubes(field, dims, 0.5);
  const m = assertClosed(mesh, 'non-finite');
  assert.ok(m.volume > 0);
  for (let v = 0; v < mesh.positions.length; v++) {
    const x = mesh.positions[v]!;
    assert.ok(Number.isFinite(x) && x >= 0 && x <= dims[v % 3]! - 1, `vertex coordinate ${x} outside the grid`);
  }
});

test('all 256 single-cube configurations are closed and positively oriented', () => {
  for (let c = 1; c < 256; c++) {
    const corners = new Float32Array(8);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 2; k++) {
      corners[(i * 2 + j) * 2 + k] = (c >> (i | (j << 1) | (k << 2))) & 1;
    }
    const alone = assertClosed(marchingCubes(corners, [2, 2, 2], 0.5), `case ${c}`);
    assert.ok(alone.volume > 0, `case ${c}: volume ${alone.volume}`);

    // The same cube inside empty space exercises the table without any boundary caps.
    const embedded = new Float32Array(64);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 2; k++) {
      embedded[((i + 1) * 4 + j + 1) * 4 + k + 1] = corners[(i * 2 + j) * 2 + k]!;
    }
    const inner = assertClosed(marchingCubes(embedded, [4, 4, 4], 0.5), `embedded case ${c}`);
    assert.ok(inner.volume > 0, `embedded case ${c}: volume ${inner.volume}`);
  }
  const empty = marchingCubes(new Float32Array(8), [2, 2, 2], 0.5);
  assert.equal(empty.indices.length, 0);
  assert.equal(empty.positions.length, 0);
});

test('marchingCubes rejects a field that does not match its dimensions', () => {
  assert.throws(() => marchingCubes(new Float32Array(7), [2, 2, 2], 0), RangeError);
  assert.throws(() => marchingCubes(new Float32Array(4), [1, 2, 2], 0), RangeError);
});

test('metrics on a unit cube, and with one triangle removed', () => {
  const positions = new Float32Array([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1]);
  // prettier-ignore
  const indices = new Uint32Array([
    0, 3, 2, 0, 2, 1, // z = 0, facing -z
    4, 5, 6, 4, 6, 7, // z = 1
    0, 1, 5, 0, 5, 4, // y = 0
    3, 7, 6, 3, 6, 2, // y = 1
    0, 4, 7, 0, 7, 3, // x = 0
    1, 2, 6, 1, 6, 5, // x = 1
  ]);
  const m = meshMetrics({ positions, indices });
  assert.ok(Math.abs(m.volume - 1) < 1e-12);
  assert.ok(Math.abs(m.area - 6) < 1e-12);
  assert.equal(m.watertight, true);
  assert.equal(m.components, 1);
  assert.equal(m.faces, 12);
  assert.deepEqual(m.bbox, { min: [0, 0, 0], max: [1, 1, 1] });

  const open = meshMetrics({ positions, indices: indices.slice(3) });
  assert.equal(open.boundaryEdges, 3);
  assert.equal(open.nonManifoldEdges, 0);
  assert.equal(open.watertight, false);

  const flipped = indices.slice();
  [flipped[0], flipped[1]] = [flipped[1]!, flipped[0]!];
  const bad = meshMetrics({ positions, indices: flipped });
  assert.ok(bad.nonManifoldEdges > 0, 'a flipped triangle is inconsistently oriented');
  assert.equal(bad.watertight, false);

  const twoCubes = new Float32Array(48);
  twoCubes.set(positions);
  for (let i = 0; i < 24; i++) twoCubes[24 + i] = positions[i]! + (i % 3 === 0 ? 3 : 0);
  const both = new Uint32Array(72);
  both.set(indices);
  for (let i = 0; i < 36; i++) both[36 + i] = indices[i]! + 8;
  assert.equal(meshMetrics({ positions: twoCubes, indices: both }).components, 2);
});

test('vertexNormals gives unit normals and +z for unused vertices', () => {
  const positions = new Float32Array([0, 0, 0, 2, 0, 0, 0, 2, 0, 5, 5, 5]);
  const normals = vertexNormals(positions, new Uint32Array([0, 1, 2]));
  assert.deepEqual(Array.from(normals), [0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
  const down = vertexNormals(positions, new Uint32Array([0, 2, 1]));
  assert.deepEqual(Array.from(down.subarray(0, 3)), [0, 0, -1]);
});

test('sampleDenseGrid: linspace corners, z fastest, batching, progress and cancellation', async () => {
  const r = 0.5;
  const resolution = 5;
  const seen: number[] = [];
  const progress: number[] = [];
  const query: DensityQuery = async (points) => {
    seen.push(...points);
    return new Float32Array(points.length / 3).map((_, p) => seen.length / 3 - points.length / 3 + p);
  };
  const field = await sampleDenseGrid(query, resolution, { radius: r, batchSize: 7, onProgress: (f) => progress.push(f) });
  const n = resolution ** 3;
  assert.equal(seen.length, 3 * n);
  assert.deepEqual(seen.slice(0, 3), [-r, -r, -r]);
  assert.deepEqual(seen.slice(-3), [r, r, r]);
  assert.deepEqual(seen.slice(3, 6), [-r, -r, -r + (2 * r) / (resolution - 1)], 'z varies fastest');
  assert.deepEqual(seen.slice(3 * resolution, 3 * resolution + 3), [-r, -r + (2 * r) / (resolution - 1), -r]);
  assert.deepEqual(Array.from(field), Array.from({ length: n }, (_, i) => i), 'densities land at their point index');
  assert.equal(progress.length, Math.ceil(n / 7));
  assert.equal(progress.at(-1), 1);

  const world = gridIndexToWorld(new Float32Array([0, resolution - 1, (resolution - 1) / 2]), resolution, r);
  assert.deepEqual(Array.from(world), [-r, r, 0]);

  const controller = new AbortController();
  controller.abort();
  await assert.rejects(sampleDenseGrid(query, resolution, { signal: controller.signal }), CancelledError);

  const later = new AbortController();
  let calls = 0;
  const aborting: DensityQuery = async (points) => {
    if (++calls === 2) later.abort();
    return new Float32Array(points.length / 3);
  };
  await assert.rejects(sampleDenseGrid(aborting, resolution, { batchSize: 10, signal: later.signal }), CancelledError);
  assert.equal(calls, 2);
});

// Resolution 256 over the world box ±RADIUS: closed, manifold, analytic volume within 1%.
const RES = 256;
const capVolume = (r: number, h: number): number => (Math.PI * h * h * (3 * r - h)) / 3;

/** Exact volume of {n·p <= s} ∩ [-b, b]^3 for n with no zero component (inclusion–exclusion). */
function halfSpaceInCube(n: readonly number[], s: number, b: number): number {
  // Flip axes so every component is positive, then shift to the cube [0, 2b]^3.
  const a = n.map(Math.abs);
  const t = s + b * (a[0]! + a[1]! + a[2]!);
  let sum = 0;
  for (let v = 0; v < 8; v++) {
    const d = t - 2 * b * ((v & 1) * a[0]! + ((v >> 1) & 1) * a[1]! + ((v >> 2) & 1) * a[2]!);
    const bitsSet = (v & 1) + ((v >> 1) & 1) + ((v >> 2) & 1);
    if (d > 0) sum += (bitsSet % 2 ? -1 : 1) * d ** 3;
  }
  return sum / (6 * a[0]! * a[1]! * a[2]!);
}

function assertVolume(label: string, volume: number, exact: number): void {
  const err = Math.abs(volume - exact) / exact;
  console.log(`${label} at ${RES}: volume ${volume.toFixed(6)} vs ${exact.toFixed(6)}, error ${(100 * err).toFixed(3)}%`);
  assert.ok(err < 0.01, `${label}: volume ${volume} vs ${exact}`);
}

test('sphere at 256: closed, manifold, one piece, volume within 1%', async () => {
  const r = 0.5;
  const m = assertClosed(await worldMesh(sphere(0.05, -0.03, 0.02, r), RES), 'sphere 256');
  assert.equal(m.components, 1);
  assertVolume('sphere', m.volume, (4 / 3) * Math.PI * r ** 3);
});

test('torus at 256: closed, manifold, one piece, volume within 1%', async () => {
  const R = 0.5, r = 0.18;
  const m = assertClosed(await worldMesh((x, y, z) => r - Math.hypot(Math.hypot(x, y) - R, z), RES), 'torus 256');
  assert.equal(m.components, 1);
  assertVolume('torus', m.volume, 2 * Math.PI ** 2 * R * r * r);
});

test('two spheres cut by the box at 256: closed, two pieces, clipped volume within 1%', async () => {
  // Each sphere's caps beyond the box are disjoint, so its clipped volume is the ball minus caps.
  const s1 = [0.6, 0, 0, 0.4] as const; // through x = +b
  const s2 = [-0.55, -0.5, 0.1, 0.4] as const; // through x = -b and y = -b, caps not meeting
  assert.ok((RADIUS - 0.55) ** 2 + (RADIUS - 0.5) ** 2 > 0.4 ** 2, 'caps of s2 are disjoint');
  const sdf: Sdf = (x, y, z) => Math.max(sphere(...s1)(x, y, z), sphere(...s2)(x, y, z));
  const m = assertClosed(await worldMesh(sdf, RES), 'two spheres 256');
  assert.equal(m.components, 2);
  const ball = (r: number): number => (4 / 3) * Math.PI * r ** 3;
  const exact =
    ball(0.4) - capVolume(0.4, 0.6 + 0.4 - RADIUS) +
    ball(0.4) - capVolume(0.4, 0.55 + 0.4 - RADIUS) - capVolume(0.4, 0.5 + 0.4 - RADIUS);
  assertVolume('two clipped spheres', m.volume, exact);
});

test('thin tilted plate (2.5 voxels) across the box at 256: closed, one piece, volume within 1%', async () => {
  // The field t/2 - |n·p - c| is linear on each side of the mid-plane. An edge's extent along n is
  // at most one voxel < t/2, so no crossed edge straddles the kink: linear interpolation puts every
  // vertex exactly on the faces and the mesh (caps included) bounds exactly slab ∩ box.
  const voxel = (2 * RADIUS) / (RES - 1);
  const t = 2.5 * voxel, c = 0.01;
  const len = Math.hypot(0.3, 0.2, 1);
  const n = [0.3 / len, 0.2 / len, 1 / len];
  const sdf: Sdf = (x, y, z) => t / 2 - Math.abs(n[0]! * x + n[1]! * y + n[2]! * z - c);
  const m = assertClosed(await worldMesh(sdf, RES), 'plate 256');
  assert.equal(m.components, 1);
  const exact = halfSpaceInCube(n, c + t / 2, RADIUS) - halfSpaceInCube(n, c - t / 2, RADIUS);
  assert.ok(Math.abs(halfSpaceInCube(n, 0, RADIUS) - RADIUS ** 3 * 4) < 1e-9, 'half-space formula halves the cube');
  assertVolume('plate', m.volume, exact);
});
