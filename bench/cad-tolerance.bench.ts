import { simplifyToTolerance, longestSide } from '../src/pipeline/mesh/simplifyToTolerance.js';
import { sphereTorusField } from '../test/fixtures/numeric.js';
import { marchingCubes } from '../src/pipeline/surface/marchingCubes.js';
import { processMesh } from '../src/pipeline/mesh/process.js';
import { gridIndexToWorld } from '../src/pipeline/surface/grid.js';
import { meshVolume } from '../test/fixtures/meshes.js';
const N = Number(process.argv[2] ?? 160);
const raw = marchingCubes(sphereTorusField(N, 0.75), [N, N, N], 0);
const full = processMesh({ positions: gridIndexToWorld(raw.positions, N, 0.87), indices: raw.indices }, { floaterFraction: 0.02, smoothingIterations: 10 }).mesh;
const L = longestSide(full.positions);
console.log('faces', full.indices.length / 3, 'L', L);
for (const frac of [0.0005, 0.001, 0.002, 0.005]) {
  const t0 = performance.now();
  const s = simplifyToTolerance(full, frac * L);
  const ms = performance.now() - t0;
  const v0 = meshVolume(full.positions, full.indices), v1 = meshVolume(s.positions, s.indices);
  console.log(frac, 'faces', s.indices.length / 3, 'ms', ms.toFixed(0), 'dV%', ((100 * (v1 - v0)) / v0).toFixed(4));
}
