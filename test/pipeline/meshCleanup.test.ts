import { test } from 'node:test';
import assert from 'node:assert/strict';

import { removeFloaters } from '../../src/pipeline/mesh/components.js';
import { closeSmallHoles } from '../../src/pipeline/mesh/holes.js';
import type { Mesh } from '../../src/pipeline/mesh/mesh.js';
import { meshMetrics } from '../../src/pipeline/mesh/metrics.js';
import { taubinSmooth } from '../../src/pipeline/mesh/smooth.js';
import { marchingCubes } from '../../src/pipeline/surface/marchingCubes.js';

type Field = (x: number, y: number, z: number) => number;

/** Samples `f` at integer grid points, so mesh positions are in the same (grid index) units. */
function mcMesh(f: Field, n: number, iso: number): Mesh {
  const field = new Float32Array(n * n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) field[(i * n + j) * n + k] = f(i, j, k);
  const { positions, indices } = marchingCubes(field, [n, n, n], iso);
  return { positions, indices, colors: colourOf(positions) };
}

/** Colour as a function of position, so a test can check that colours travelled with their vertex. */
function colourOf(positions: Float32Array): Float32Array {
  const colors = new Float32Array(positions.length);
  for (let i = 0; i < positions.length; i++) colors[i] = (Math.sin(positions[i]! * 0.37 + i % 3) + 1) / 2;
  return colors;
}

function assertColoursFollowPositions(mesh: Mesh, skipFrom = Infinity): void {
  assert.ok(mesh.colors, 'colours lost');
  assert.equal(mesh.colors.length, mesh.positions.length);
  const expected = colourOf(mesh.positions);
  for (let i = 0; i < Math.min(mesh.positions.length, 3 * skipFrom); i++) {
    if (Math.abs(mesh.colors[i]! - expected[i]!) > 1e-6) assert.fail(`colour ${i} does not belong to its vertex`);
  }
}

const sdfSphere = (cx: number, cy: number, cz: number, r: number): Field => (x, y, z) => r - Math.hypot(x - cx, y - cy, z - cz);

function directedEdgesUnique(mesh: Mesh): boolean {
  const seen = new Set<number>();
  const n = mesh.positions.length / 3;
  for (let e = 0; e < mesh.indices.length; e++) {
    const key = mesh.indices[e]! * n + mesh.indices[e % 3 === 2 ? e - 2 : e + 1]!;
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}

function without(mesh: Mesh, drop: (a: number, b: number, c: number) => boolean): Mesh {
  const kept: number[] = [];
  for (let f = 0; f < mesh.indices.length; f += 3) {
    const a = mesh.indices[f]!, b = mesh.indices[f + 1]!, c = mesh.indices[f + 2]!;
    if (!drop(a, b, c)) kept.push(a, b, c);
  }
  return { ...mesh, indices: Uint32Array.from(kept) };
}

test('removeFloaters drops a small blob and keeps the main body exactly', () => {
  const body = sdfSphere(30, 31, 32, 22);
  const blob = sdfSphere(56, 56, 56, 2.5);
  const both = mcMesh((x, y, z) => Math.max(body(x, y, z), blob(x, y, z)), 64, 0);
  const alone = mcMesh(body, 64, 0);
  assert.equal(meshMetrics(both).components, 2);

  const { mesh, removedComponents, removedTriangles } = removeFloaters(both, 0.05);
  const m = meshMetrics(mesh);
  const ref = meshMetrics(alone);
  assert.equal(removedComponents, 1);
  assert.equal(removedTriangles, both.indices.length / 3 - alone.indices.length / 3);
  assert.equal(m.components, 1);
  assert.equal(m.vertices, ref.vertices);
  assert.equal(m.faces, ref.faces);
  assert.ok(m.watertight);
  assert.ok(Math.abs(m.volume - ref.volume) < 1e-6 * ref.volume, `volume ${m.volume} vs ${ref.volume}`);
  assertColoursFollowPositions(mesh);

  // A threshold below the blob's share keeps it.
  const lenient = removeFloaters(both, 1e-4);
  assert.equal(lenient.removedComponents, 0);
  assert.equal(meshMetrics(lenient.mesh).components, 2);
});

test('removeFloaters compares area, not triangle count, and carries normals', () => {
  // A large quad made of 2 triangles and a small finely split quad of 8 triangles.
  const positions: number[] = [0, 0, 0, 10, 0, 0, 10, 10, 0, 0, 10, 0];
  const indices: number[] = [0, 1, 2, 0, 2, 3];
  const base = 4;
  for (let i = 0; i <= 4; i++) positions.push(20 + i * 0.25, 0, 0, 20 + i * 0.25, 1, 0);
  for (let i = 0; i < 4; i++) {
    const p = base + 2 * i;
    indices.push(p, p + 2, p + 3, p, p + 3, p + 1);
  }
  const n = positions.length / 3;
  const normals = new Float32Array(3 * n);
  for (let v = 0; v < n; v++) normals[3 * v + 2] = 1;
  const mesh: Mesh = { positions: Float32Array.from(positions), indices: Uint32Array.from(indices), colors: colourOf(Float32Array.from(positions)), normals };
  const result = removeFloaters(mesh, 0.1);
  assert.equal(result.removedComponents, 1);
  assert.equal(result.removedTriangles, 8);
  assert.deepEqual(Array.from(result.mesh.positions), positions.slice(0, 12));
  assert.deepEqual(Array.from(result.mesh.indices), [0, 1, 2, 0, 2, 3]);
  assert.equal(result.mesh.normals?.length, 12);
  assertColoursFollowPositions(result.mesh);
});

test('closeSmallHoles fills a small hole outward and leaves a large one', () => {
  const sphere = mcMesh(sdfSphere(15.5, 15.3, 15.1, 11), 32, 0);
  const original = meshMetrics(sphere);
  assert.ok(original.watertight);

  // Valence per vertex, to pick a vertex whose one-ring makes a small hole.
  const valence = new Uint32Array(sphere.positions.length / 3);
  for (const v of sphere.indices) valence[v]++;
  let hub = -1;
  for (let v = 0; v < valence.length; v++) {
    if (valence[v]! >= 5 && valence[v]! <= 7 && sphere.positions[3 * v + 2]! < 10) {
      hub = v;
      break;
    }
  }
  assert.ok(hub >= 0);
  const ringEdges = valence[hub]!;
  const small = without(sphere, (a, b, c) => a === hub || b === hub || c === hub);
  assert.equal(meshMetrics(small).boundaryEdges, ringEdges);

  const filled = closeSmallHoles(small, 12);
  assert.equal(filled.closed, 1);
  const m = meshMetrics(filled.mesh);
  assert.ok(m.watertight, `boundary ${m.boundaryEdges}, non-manifold ${m.nonManifoldEdges}`);
  assert.ok(directedEdgesUnique(filled.mesh));
  assert.ok(m.volume > 0);
  assert.ok(Math.abs(m.volume - original.volume) < 0.002 * original.volume, `volume ${m.volume} vs ${original.volume}`);
  assert.equal(m.components, 1);
  // The new centre vertex takes the loop's average colour, the old ones keep theirs.
  const nv = sphere.positions.length / 3;
  assert.equal(filled.mesh.positions.length / 3, nv + 1);
  assertColoursFollowPositions(filled.mesh, nv);
  let ringColour = 0;
  const ring = new Set<number>();
  for (let f = 0; f < sphere.indices.length; f += 3) {
    const t = [sphere.indices[f]!, sphere.indices[f + 1]!, sphere.indices[f + 2]!];
    if (t.includes(hub)) for (const v of t) if (v !== hub) ring.add(v);
  }
  for (const v of ring) ringColour += sphere.colors![3 * v]!;
  assert.ok(Math.abs(filled.mesh.colors![3 * nv]! - ringColour / ring.size) < 1e-6);

  // A cap of the sphere above z = 22 leaves a hole of far more than 12 edges.
  const z = (v: number): number => sphere.positions[3 * v + 2]!;
  const both = without(small, (a, b, c) => z(a) + z(b) + z(c) > 3 * 22);
  const bigBoundary = meshMetrics(without(sphere, (a, b, c) => z(a) + z(b) + z(c) > 3 * 22)).boundaryEdges;
  assert.ok(bigBoundary > 12, `big hole has ${bigBoundary} edges`);
  const partial = closeSmallHoles(both, 12);
  assert.equal(partial.closed, 1);
  const pm = meshMetrics(partial.mesh);
  assert.equal(pm.boundaryEdges, bigBoundary);
  assert.equal(pm.nonManifoldEdges, 0);
  assert.ok(directedEdgesUnique(partial.mesh));

  // With a large enough limit, the cap closes too, still outward.
  const all = closeSmallHoles(both, 1000);
  assert.equal(all.closed, 2);
  const am = meshMetrics(all.mesh);
  assert.ok(am.watertight);
  assert.ok(am.volume > 0 && am.volume < original.volume);
});

test('closeSmallHoles closes a 3-edge hole with one triangle and leaves closed meshes alone', () => {
  // A tetrahedron missing one face.
  const tet: Mesh = {
    positions: Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]),
    indices: Uint32Array.from([0, 2, 1, 0, 1, 3, 1, 2, 3]),
    colors: new Float32Array(12).fill(0.5),
  };
  const { mesh, closed } = closeSmallHoles(tet, 3);
  assert.equal(closed, 1);
  assert.equal(mesh.positions.length, 12);
  const m = meshMetrics(mesh);
  assert.ok(m.watertight);
  assert.ok(Math.abs(m.volume - 1 / 6) < 1e-9);
  assert.equal(closeSmallHoles(mesh, 3).closed, 0);
  assert.equal(closeSmallHoles(tet, 2).closed, 0);
});

function radiusRms(mesh: Mesh, c: number, r: number): number {
  let sum = 0;
  const n = mesh.positions.length / 3;
  for (let v = 0; v < n; v++) {
    const d = Math.hypot(mesh.positions[3 * v]! - c, mesh.positions[3 * v + 1]! - c, mesh.positions[3 * v + 2]! - c) - r;
    sum += d * d;
  }
  return Math.sqrt(sum / n);
}

test('taubinSmooth removes the voxel staircase without shrinking', () => {
  const c = 23.5;
  const r = 17.3;
  // A binary occupancy field: every vertex lands on an edge midpoint, the worst staircase there is.
  const stairs = mcMesh((x, y, z) => (Math.hypot(x - c, y - c, z - c) <= r ? 1 : 0), 48, 0.5);
  const before = radiusRms(stairs, c, r);
  const v0 = meshMetrics(stairs).volume;

  const smooth = taubinSmooth(stairs, { iterations: 20 });
  const after = radiusRms(smooth, c, r);
  const v1 = meshMetrics(smooth).volume;
  const laplace = taubinSmooth(stairs, { iterations: 20, mu: 0 });
  const v2 = meshMetrics(laplace).volume;
  console.log(`radius RMS ${before.toFixed(4)} -> ${after.toFixed(4)}; volume ${v0.toFixed(1)} -> ${v1.toFixed(1)} (Taubin), ${v2.toFixed(1)} (λ only)`);

  assert.ok(after < before / 2, `RMS ${before} -> ${after}`);
  assert.ok(Math.abs(v1 - v0) < 0.01 * v0, `volume ${v0} -> ${v1}`);
  assert.ok(v0 - v2 > 3 * Math.abs(v1 - v0), `λ-only volume ${v2} should shrink more than Taubin ${v1} (from ${v0})`);
  assert.ok(v2 < 0.99 * v0);
  assert.equal(smooth.indices, stairs.indices);
  assert.equal(smooth.colors, stairs.colors);
  assert.ok(meshMetrics(smooth).watertight);
});

test('taubinSmooth keeps boundary vertices fixed and recomputes normals', () => {
  const sphere = mcMesh(sdfSphere(11.5, 11.5, 11.5, 8), 24, 0);
  const z = (v: number): number => sphere.positions[3 * v + 2]!;
  const open = { ...without(sphere, (a, b, c) => z(a) + z(b) + z(c) > 3 * 16), normals: new Float32Array(sphere.positions.length) };
  const smooth = taubinSmooth(open, { iterations: 10 });
  const n = open.positions.length / 3;
  const onBoundary = new Uint8Array(n);
  const count = new Map<number, number>();
  for (let e = 0; e < open.indices.length; e++) {
    const a = open.indices[e]!, b = open.indices[e % 3 === 2 ? e - 2 : e + 1]!;
    const key = Math.min(a, b) * n + Math.max(a, b);
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  for (const [key, uses] of count) {
    if (uses === 1) {
      onBoundary[Math.floor(key / n)] = 1;
      onBoundary[key % n] = 1;
    }
  }
  let fixed = 0;
  let moved = 0;
  for (let v = 0; v < n; v++) {
    const d = Math.hypot(smooth.positions[3 * v]! - open.positions[3 * v]!, smooth.positions[3 * v + 1]! - open.positions[3 * v + 1]!, smooth.positions[3 * v + 2]! - open.positions[3 * v + 2]!);
    if (onBoundary[v]) {
      assert.equal(d, 0);
      fixed++;
    } else if (d > 0) moved++;
  }
  assert.ok(fixed > 10 && moved > 100, `fixed ${fixed}, moved ${moved}`);
  assert.ok(smooth.normals);
  let len = 0;
  for (let i = 0; i < 3; i++) len += smooth.normals[i]! ** 2;
  assert.ok(Math.abs(len - 1) < 1e-5);
  assert.equal(taubinSmooth(open, { iterations: 0 }).positions.length, open.positions.length);
  assert.throws(() => taubinSmooth(open, { iterations: -1 }), RangeError);
});
