import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longestSide, simplifyToTolerance } from '../../src/pipeline/mesh/simplifyToTolerance.js';
import { decimate } from '../../src/pipeline/mesh/decimate.js';
import { meshMetrics } from '../../src/pipeline/mesh/metrics.js';
import { processMesh } from '../../src/pipeline/mesh/process.js';
import { marchingCubes } from '../../src/pipeline/surface/marchingCubes.js';
import { gridIndexToWorld } from '../../src/pipeline/surface/grid.js';
import { sphereTorusField } from '../fixtures/numeric.js';
import { meshVolume, subdividedBox } from '../fixtures/meshes.js';
import { twoWayDeviation } from '../fixtures/surfaceDeviation.js';
import type { Mesh } from '../../src/pipeline/mesh/mesh.js';

/** A smoothed marching-cubes blob as a generation makes it, before the triangle target. */
function blob(n: number): Mesh {
  const raw = marchingCubes(sphereTorusField(n, 0.75), [n, n, n], 0);
  return processMesh({ positions: gridIndexToWorld(raw.positions, n, 0.87), indices: raw.indices }, { floaterFraction: 0.02, smoothingIterations: 10 }).full;
}

const blobMesh = blob(72);

for (const share of [0.001, 0.005]) {
  test(`a marching-cubes blob simplified to ${100 * share}% of its size stays within it both ways, closed, same volume, fewer faces`, () => {
    const tolerance = share * longestSide(blobMesh.positions);
    const cad = simplifyToTolerance(blobMesh, tolerance);
    const before = meshMetrics(blobMesh), after = meshMetrics(cad);
    assert.ok(after.faces < before.faces / 3, `${after.faces} faces of ${before.faces}`);
    const deviation = twoWayDeviation(blobMesh, cad, 4 * tolerance);
    // Sampled between the checked points: a few per cent over is the sampling, not the bound.
    assert.ok(deviation <= 1.05 * tolerance, `deviation ${deviation} > tolerance ${tolerance}`);
    assert.equal(before.watertight, true);
    assert.equal(after.watertight, true);
    const v0 = meshVolume(blobMesh.positions, blobMesh.indices), v1 = meshVolume(cad.positions, cad.indices);
    assert.ok(Math.abs(v1 - v0) <= 0.001 * Math.abs(v0), `volume ${v1} vs ${v0}`);
  });
}

test('the plain triangle target does break the tolerance, so the bound above is the new mode at work', () => {
  const tolerance = 0.001 * longestSide(blobMesh.positions);
  const faces = simplifyToTolerance(blobMesh, tolerance).indices.length / 3;
  const plain = decimate(blobMesh, Math.floor(faces / 3));
  assert.ok(twoWayDeviation(blobMesh, plain, 50 * tolerance) > tolerance);
});

test('a box keeps its corners and edges: every corner is still a vertex, and the faces collapse to a handful', () => {
  const box = subdividedBox(12, 3, 2, 1);
  const tolerance = 0.001 * 3;
  const cad = simplifyToTolerance(box, tolerance);
  const p = cad.positions;
  const m = meshMetrics(box).bbox;
  for (const x of [m.min[0]!, m.max[0]!]) for (const y of [m.min[1]!, m.max[1]!]) for (const z of [m.min[2]!, m.max[2]!]) {
    let best = Infinity;
    for (let i = 0; i < p.length; i += 3) best = Math.min(best, Math.hypot(p[i]! - x, p[i + 1]! - y, p[i + 2]! - z));
    assert.ok(best <= 1e-6, `corner ${x},${y},${z} is ${best} from the nearest vertex`);
  }
  assert.ok(twoWayDeviation(box, cad, 1) <= 1.05 * tolerance);
  assert.ok(cad.indices.length / 3 < 100, `${cad.indices.length / 3} faces`);
  assert.equal(meshMetrics(cad).watertight, true);
});
