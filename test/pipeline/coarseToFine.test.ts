import { test } from 'node:test';
import assert from 'node:assert/strict';

import { meshMetrics } from '../../src/pipeline/mesh/metrics.js';
import { CancelledError } from '../../src/pipeline/progress.js';
import { sampleCoarseToFine } from '../../src/pipeline/surface/coarseToFine.js';
import { sampleDenseGrid, type DensityQuery } from '../../src/pipeline/surface/grid.js';
import { marchingCubes } from '../../src/pipeline/surface/marchingCubes.js';

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

/**
 * Largest distance from a vertex of `a` to the nearest vertex of `b`, in grid units. The nearest
 * vertex of `b` lies on `b`'s surface, so this bounds the vertex-to-surface distance from above;
 * a pass at this bound is a pass at the true one. A spatial hash of unit cells is searched in growing
 * shells, and a shell of radius r is exhaustive for every vertex within r.
 */
function oneSidedVertexDistance(a: Float32Array, b: Float32Array): number {
  const cells = new Map<number, number[]>();
  const key = (x: number, y: number, z: number): number => ((x + 2) * 1024 + (y + 2)) * 1024 + (z + 2);
  for (let v = 0; v < b.length; v += 3) {
    const k = key(Math.floor(b[v]!), Math.floor(b[v + 1]!), Math.floor(b[v + 2]!));
    const list = cells.get(k);
    if (list) list.push(v);
    else cells.set(k, [v]);
  }
  let worst = 0;
  for (let v = 0; v < a.length; v += 3) {
    const x = a[v]!, y = a[v + 1]!, z = a[v + 2]!;
    const cx = Math.floor(x), cy = Math.floor(y), cz = Math.floor(z);
    let best = Infinity;
    for (let r = 1; r <= 4 && !(best <= r); r++) {
      for (let i = cx - r; i <= cx + r; i++) {
        for (let j = cy - r; j <= cy + r; j++) {
          for (let k = cz - r; k <= cz + r; k++) {
            const list = cells.get(key(i, j, k));
            if (!list) continue;
            for (const w of list) {
              const d = Math.hypot(b[w]! - x, b[w + 1]! - y, b[w + 2]! - z);
              if (d < best) best = d;
            }
          }
        }
      }
    }
    if (best > worst) worst = best;
  }
  return worst;
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
      oneSidedVertexDistance(mesh.positions, dense.positions),
      oneSidedVertexDistance(dense.positions, mesh.positions),
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
  const missed = oneSidedVertexDistance(marchingCubes(dense, dims, ISO).positions, marchingCubes(field, dims, ISO).positions);
  assert.ok(missed > 0.5, `distance ${missed}`);
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
