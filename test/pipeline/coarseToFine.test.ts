import { test } from 'node:test';
import assert from 'node:assert/strict';

import { meshMetrics } from '../../src/pipeline/mesh/metrics.js';
import { CancelledError } from '../../src/pipeline/progress.js';
import { sampleCoarseToFine } from '../../src/pipeline/surface/coarseToFine.js';
import { sampleDenseGrid, type DensityQuery } from '../../src/pipeline/surface/grid.js';
import { marchingCubes } from '../../src/pipeline/surface/marchingCubes.js';
import { oneSidedVertexDistance } from '../fixtures/numeric.js';
import { compareMeshes, finalMesh } from '../fixtures/meshComparison.js';

const ISO = 25;
const RADIUS = 0.87;
/** Falloff of the analytic densities per world unit: one e-fold every ~7 voxels at 256. */
const SHARPNESS = 20;

type Distance = (x: number, y: number, z: number) => number;

/** World coordinate of grid index `i` at resolution `n`, as the samplers compute it. */
function world(i: number, n: number): number {
  return (i / (n - 1)) * 2 * RADIUS - RADIUS;
}

function voxel(n: number): number {
  return (2 * RADIUS) / (n - 1);
}

/** A density like TripoSR's around its surface: 25 on the surface of `distance`, exponential either side. */
function densityOf(distance: Distance, sharpness = SHARPNESS): DensityQuery {
  return async (points) => {
    const out = new Float32Array(points.length / 3);
    for (let p = 0; p < out.length; p++) {
      out[p] = ISO * Math.exp(-sharpness * distance(points[3 * p]!, points[3 * p + 1]!, points[3 * p + 2]!));
    }
    return out;
  };
}

function counting(query: DensityQuery): { query: DensityQuery; count: () => number } {
  let n = 0;
  return {
    query: async (points, signal) => {
      n += points.length / 3;
      return query(points, signal);
    },
    count: () => n,
  };
}

interface Case {
  name: string;
  resolution: number;
  distance: Distance;
  sharpness?: number;
  margin?: number;
}

const N256 = 256;
const v256 = voxel(N256);
/** A world coordinate halfway between two coarse (step 8) samples: the hardest place for a small feature. */
const between = world(100, N256);

const thinPlate: Distance = (x, y, z) => Math.max(Math.abs(x - between) - v256, Math.abs(y) - 0.5, Math.abs(z) - 0.4);

const cases: Case[] = [
  { name: 'sphere', resolution: 256, distance: (x, y, z) => Math.hypot(x - 0.03, y + 0.02, z - 0.01) - 0.5 },
  {
    name: 'torus',
    resolution: 256,
    distance: (x, y, z) => Math.hypot(Math.hypot(x, z) - 0.45, y - 0.05) - 0.12,
  },
  {
    name: 'two spheres cut by the grid boundary',
    resolution: 256,
    distance: (x, y, z) => Math.min(Math.hypot(x - 0.6, y, z) - 0.35, Math.hypot(x + 0.6, y - 0.1, z) - 0.35),
  },
  {
    // Two voxels thick, centred between coarse samples, so no coarse sample lies inside it.
    name: 'thin plate',
    resolution: 256,
    distance: thinPlate,
  },
  // Twice as sharp: the plate's tail at the nearest samples is below the default margin's reach.
  { name: 'sharper thin plate, wider margin', resolution: 256, distance: thinPlate, sharpness: 2 * SHARPNESS, margin: 20 },
  {
    name: 'small sphere (radius 3 voxels)',
    resolution: 256,
    distance: (x, y, z) => Math.hypot(x - between, y - between, z - between) - 3 * v256,
  },
  {
    name: 'thin rod (radius 1.5 voxels)',
    resolution: 256,
    distance: (x, y, z) => Math.max(Math.hypot(x - between, y - world(60, N256)) - 1.5 * v256, Math.abs(z) - 0.6),
  },
];

for (const c of cases) {
  test(`coarse-to-fine matches dense within half a voxel on a ${c.name} at ${c.resolution}`, async () => {
    const n = c.resolution;
    const dims = [n, n, n] as const;
    const density = densityOf(c.distance, c.sharpness);
    const dense = marchingCubes(await sampleDenseGrid(density, n), dims, ISO);
    assert.ok(dense.indices.length > 0, 'the reference has a surface');

    const counted = counting(density);
    const { field, queries } = await sampleCoarseToFine(counted.query, n, ISO, c.margin === undefined ? {} : { margin: c.margin });
    assert.equal(queries, counted.count(), 'reported queries are the points passed to query');
    const ratio = queries / n ** 3;
    assert.ok(ratio <= 0.1, `${c.name}: ${(100 * ratio).toFixed(2)}% of the dense queries`);

    const mesh = marchingCubes(field, dims, ISO);
    const m = meshMetrics(mesh);
    assert.equal(m.boundaryEdges, 0, 'boundary edges');
    assert.equal(m.nonManifoldEdges, 0, 'non-manifold edges');
    assert.ok(m.watertight, 'watertight');

    const hausdorff = Math.max(
      oneSidedVertexDistance(mesh.positions, dense.positions, 4),
      oneSidedVertexDistance(dense.positions, mesh.positions, 4),
    );
    console.log(`# ${c.name} @${n}: queries ${(100 * ratio).toFixed(2)}%, Hausdorff ≤ ${hausdorff.toFixed(3)} voxel`);
    assert.ok(hausdorff <= 0.5, `${c.name}: Hausdorff ${hausdorff} voxels`);
  });
}

test('control: without the margin the thin plate is missed, so the plate case does test it', async () => {
  const n = 256;
  const density = densityOf(thinPlate);
  const dense = await sampleDenseGrid(density, n);
  const { field } = await sampleCoarseToFine(density, n, ISO, { margin: 0 });
  let wrong = 0;
  for (let i = 0; i < field.length; i++) if (field[i]! >= ISO !== dense[i]! >= ISO) wrong++;
  assert.ok(wrong > 1000, `${wrong} points on the wrong side`);
  // And the distance measure sees the missing plate.
  const dims = [n, n, n] as const;
  const missed = oneSidedVertexDistance(marchingCubes(dense, dims, ISO).positions, marchingCubes(field, dims, ISO).positions, 4);
  assert.ok(missed > 0.5, `distance ${missed}`);
});

/** Deterministic PRNG (mulberry32) so the rough fields are the same on every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A rough field: `count` Gaussian blobs of standard deviation 1–2 voxels and peak 60 (above iso, so
 * each is a tiny closed surface), optionally on top of an analytic density. Blobs are bucketed by
 * 8-voxel cells and cut off at 4 sigma, so a query costs a few dozen exponentials.
 */
function roughField(n: number, count: number, seed: number, base?: Distance): DensityQuery {
  const random = seeded(seed);
  const v = voxel(n);
  const size = 8 * v;
  const G = Math.ceil((2 * RADIUS) / size) + 1;
  const bucket = (x: number): number => Math.floor((x + RADIUS) / size);
  const key = (a: number, b: number, c: number): number => (a * G + b) * G + c;
  const blobs: number[] = [];
  const cells = new Map<number, number[]>();
  for (let b = 0; b < count; b++) {
    const x = (2 * random() - 1) * 0.9 * RADIUS, y = (2 * random() - 1) * 0.9 * RADIUS, z = (2 * random() - 1) * 0.9 * RADIUS;
    const at = blobs.length;
    blobs.push(x, y, z, (1 + random()) * v);
    const k = key(bucket(x), bucket(y), bucket(z));
    const list = cells.get(k);
    if (list) list.push(at);
    else cells.set(k, [at]);
  }
  return async (points) => {
    const out = new Float32Array(points.length / 3);
    for (let p = 0; p < out.length; p++) {
      const x = points[3 * p]!, y = points[3 * p + 1]!, z = points[3 * p + 2]!;
      let value = base ? ISO * Math.exp(-SHARPNESS * base(x, y, z)) : 0;
      const a = bucket(x), b = bucket(y), c = bucket(z);
      for (let u = a - 1; u <= a + 1; u++) {
        for (let w = b - 1; w <= b + 1; w++) {
          for (let t = c - 1; t <= c + 1; t++) {
            for (const q of cells.get(key(u, w, t)) ?? []) {
              const dx = x - blobs[q]!, dy = y - blobs[q + 1]!, dz = z - blobs[q + 2]!, s = blobs[q + 3]!;
              const d2 = dx * dx + dy * dy + dz * dz;
              if (d2 < 16 * s * s) value += 60 * Math.exp(-d2 / (2 * s * s));
            }
          }
        }
      }
      out[p] = value;
    }
    return out;
  };
}

// Blobs of one to two voxels' radius scattered in the air: most sit between the first lattice's
// samples, far below `iso` at every one of them. Before local repair, one surprise sent these to dense
// sampling; without any repair they lost 12–2353 points.
const roughCases: { name: string; count: number; seed: number; base?: Distance }[] = [
  { name: '300 small blobs', count: 300, seed: 1 },
  { name: '2000 small blobs', count: 2000, seed: 2 },
  { name: 'a sphere plus 100 small blobs', count: 100, seed: 4, base: (x, y, z) => Math.hypot(x - 0.03, y + 0.02, z - 0.01) - 0.5 },
  { name: 'a sphere plus 500 small blobs', count: 500, seed: 3, base: (x, y, z) => Math.hypot(x - 0.03, y + 0.02, z - 0.01) - 0.5 },
];

/**
 * The 6-connected pieces of the grid on which the sampled field and the dense one disagree about the
 * side of `iso`, each grown to the whole piece of the dense field's side it belongs to.
 */
function missedPieces(dense: Float32Array, field: Float32Array, n: number): { size: number; wholly: boolean; thinnest: number }[] {
  const inside = (f: Float32Array, p: number): boolean => f[p]! >= ISO;
  const seen = new Uint8Array(dense.length);
  const pieces: { size: number; wholly: boolean; thinnest: number }[] = [];
  for (let start = 0; start < dense.length; start++) {
    if (seen[start] || inside(dense, start) === inside(field, start)) continue;
    const sideOf = inside(dense, start);
    const stack = [start];
    seen[start] = 1;
    let size = 0;
    let wholly = true;
    const lo = [n, n, n];
    const hi = [-1, -1, -1];
    while (stack.length > 0) {
      const p = stack.pop()!;
      size++;
      if (inside(field, p) === sideOf) wholly = false;
      const ijk = [Math.floor(p / (n * n)), Math.floor(p / n) % n, p % n];
      for (let a = 0; a < 3; a++) {
        lo[a] = Math.min(lo[a]!, ijk[a]!);
        hi[a] = Math.max(hi[a]!, ijk[a]!);
      }
      for (const [a, step] of [[0, n * n], [1, n], [2, 1]] as const) {
        for (const d of [-1, 1]) {
          const c = ijk[a]! + d;
          if (c < 0 || c >= n) continue;
          const q = p + d * step;
          if (!seen[q] && inside(dense, q) === sideOf) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    pieces.push({ size, wholly, thinnest: Math.min(...[0, 1, 2].map((a) => hi[a]! - lo[a]! + 1)) });
  }
  return pieces;
}

for (const c of roughCases) {
  test(`on a rough field, coarse-to-fine repairs locally and misses only whole detached pieces thinner than the first lattice: ${c.name}`, async () => {
    const n = 128;
    const density = roughField(n, c.count, c.seed, c.base);
    const dense = await sampleDenseGrid(density, n);
    const counted = counting(density);
    const { field, queries, repair } = await sampleCoarseToFine(counted.query, n, ISO);
    assert.equal(queries, counted.count(), 'reported queries are the points passed to query');
    assert.ok(queries <= n ** 3, 'never more than dense');
    assert.ok(repair.surprises > 0 && repair.repairedCells > 0, `the hidden blobs are found and repaired: ${JSON.stringify(repair)}`);
    const pieces = missedPieces(dense, field, n);
    for (const piece of pieces) {
      assert.ok(piece.wholly, `a piece is missed only in part (${piece.size} points): the repair stopped inside a feature`);
      assert.ok(piece.thinnest < 8, `a missed piece ${piece.thinnest} points across would span a first-lattice step`);
    }
    const missedPoints = pieces.reduce((sum, p) => sum + p.size, 0);
    // The same statement on the product's final meshes: every piece one has and the other lacks is a
    // small loose piece (never part of the object), and where both have surface it is the same.
    const comparison = compareMeshes(finalMesh(dense, n, ISO), finalMesh(field, n, ISO), n);
    for (const piece of [...comparison.onlyInFirst, ...comparison.onlyInSecond]) {
      assert.ok(piece.extentVoxels < 8, `a ${piece.extentVoxels.toFixed(1)}-voxel piece differs between the final meshes`);
    }
    if (c.base) assert.ok(comparison.hausdorffVoxels <= 0.5, `final meshes ${comparison.hausdorffVoxels.toFixed(3)} voxels apart`);
    console.log(
      `# ${c.name}: ${((100 * queries) / n ** 3).toFixed(1)}% queried, ${repair.surprises} surprises, ` +
        `${repair.repairedCells} cells repaired, missed ${pieces.length} whole pieces (${missedPoints} points, largest ${Math.max(0, ...pieces.map((p) => p.size))}); ` +
        `final meshes: ${comparison.onlyInFirst.length} piece(s) only in the dense one (${comparison.onlyInFirst.map((p) => `${p.triangles} triangles, ${p.extentVoxels.toFixed(1)} voxels`).join('; ') || 'none'}), ` +
        `${comparison.onlyInSecond.length} only in the adaptive one${c.base ? `, Hausdorff ${comparison.hausdorffVoxels.toFixed(3)} voxel` : ''}`,
    );
  });
}

test('smooth fields need no repair', async () => {
  for (const n of [128, 256]) {
    const result = await sampleCoarseToFine(densityOf((x, y, z) => Math.hypot(x - 0.03, y + 0.02, z - 0.01) - 0.5), n, ISO);
    assert.equal(result.repair.surprises, 0, `sphere at ${n}: ${JSON.stringify(result.levels)}`);
  }
});

test('coarse-to-fine is exact where every point is queried (coarseStep 1)', async () => {
  const n = 24;
  const density = densityOf((x, y, z) => Math.hypot(x, y, z) - 0.5);
  const dense = await sampleDenseGrid(density, n);
  const { field, queries } = await sampleCoarseToFine(density, n, ISO, { coarseStep: 1 });
  assert.equal(queries, n ** 3);
  assert.deepEqual(field, dense);
});

test('queried points carry exactly the densities sampleDenseGrid gives', async () => {
  const n = 64;
  const density = densityOf((x, y, z) => Math.hypot(x - 0.1, y, z) - 0.4);
  const dense = await sampleDenseGrid(density, n);
  const seen = new Set<number>();
  const recording: DensityQuery = async (points) => {
    for (let p = 0; p < points.length; p += 3) {
      const i = Math.round(((points[p]! + RADIUS) / (2 * RADIUS)) * (n - 1));
      const j = Math.round(((points[p + 1]! + RADIUS) / (2 * RADIUS)) * (n - 1));
      const k = Math.round(((points[p + 2]! + RADIUS) / (2 * RADIUS)) * (n - 1));
      seen.add((i * n + j) * n + k);
    }
    return density(points);
  };
  const { field, queries } = await sampleCoarseToFine(recording, n, ISO, { batchSize: 1000 });
  assert.equal(seen.size, queries, 'no point is queried twice');
  for (const index of seen) assert.equal(field[index], dense[index]);
  // Every other point sits on its true side of iso.
  for (let i = 0; i < field.length; i++) assert.equal(field[i]! >= ISO, dense[i]! >= ISO, `side of point ${i}`);
});

test('cancellation rejects with CancelledError between batches', async () => {
  const controller = new AbortController();
  let calls = 0;
  const density = densityOf((x, y, z) => Math.hypot(x, y, z) - 0.5);
  const query: DensityQuery = async (points, signal) => {
    if (++calls === 3) controller.abort();
    return density(points, signal);
  };
  await assert.rejects(
    sampleCoarseToFine(query, 128, ISO, { batchSize: 4096, signal: controller.signal }),
    (e: unknown) => e instanceof CancelledError,
  );
  assert.equal(calls, 3, 'no batch is queried after the abort');

  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(sampleCoarseToFine(query, 64, ISO, { signal: aborted.signal }), (e: unknown) => e instanceof CancelledError);
});

test('progress is monotonic and ends at 1', async () => {
  const seen: number[] = [];
  await sampleCoarseToFine(densityOf((x, y, z) => Math.hypot(x, y, z) - 0.5), 128, ISO, {
    batchSize: 5000,
    onProgress: (f) => seen.push(f),
  });
  assert.ok(seen.length > 3, `several reports (${seen.length})`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, `non-decreasing at ${i}: ${seen[i - 1]} → ${seen[i]}`);
  assert.ok(seen[0]! >= 0);
  assert.equal(seen.at(-1), 1);
});

test('rejects bad arguments', async () => {
  const density = densityOf((x, y, z) => Math.hypot(x, y, z) - 0.5);
  await assert.rejects(sampleCoarseToFine(density, 1, ISO, {}), RangeError);
  await assert.rejects(sampleCoarseToFine(density, 64, ISO, { coarseStep: 6 }), RangeError);
  await assert.rejects(sampleCoarseToFine(density, 64, ISO, { batchSize: 0 }), RangeError);
  await assert.rejects(sampleCoarseToFine(density, 64, ISO, { margin: -1 }), RangeError);
});
