/**
 * What the automatic CAD tolerance buys: a smoothed marching-cubes surface (a sphere and a torus,
 * like a generation's organic output) simplified to several shares of its longest side, against the
 * display route (decimate to GENERATE_DEFAULTS.targetTriangles) measured in the same run.
 *
 *   npm run bench:cad-tolerance [-- --resolution 160]
 *
 * Prints, per share: faces and time as ratios to the display route, the measured two-way deviation as
 * a share of the tolerance (at the tests' finer sampling), and the volume change.
 */
import { parseArgs } from 'node:util';
import { simplifyToTolerance, longestSide } from '../src/pipeline/mesh/simplifyToTolerance.js';
import { decimate } from '../src/pipeline/mesh/decimate.js';
import { marchingCubes } from '../src/pipeline/surface/marchingCubes.js';
import { processMesh } from '../src/pipeline/mesh/process.js';
import { gridIndexToWorld } from '../src/pipeline/surface/grid.js';
import { CAD_TOLERANCE_AUTO_SHARE, GENERATE_DEFAULTS } from '../src/pipeline/generateOptions.js';
import { sphereTorusField } from '../test/fixtures/numeric.js';
import { meshVolume } from '../test/fixtures/meshes.js';
import { twoWayDeviation } from '../test/fixtures/surfaceDeviation.js';

const { values } = parseArgs({ options: { resolution: { type: 'string', default: '160' } } });
const n = Number(values.resolution);
const raw = marchingCubes(sphereTorusField(n, 0.75), [n, n, n], 0);
const full = processMesh(
  { positions: gridIndexToWorld(raw.positions, n, 0.87), indices: raw.indices },
  { floaterFraction: GENERATE_DEFAULTS.floaterFraction, smoothingIterations: GENERATE_DEFAULTS.smoothingIterations },
).mesh;
const side = longestSide(full.positions);
const fullFaces = full.indices.length / 3;
const volume = meshVolume(full.positions, full.indices);

let t0 = performance.now();
const display = decimate(full, GENERATE_DEFAULTS.targetTriangles);
const displayMs = performance.now() - t0;
const displayFaces = display.indices.length / 3;
console.log(`${n}³ sphere and torus: ${fullFaces.toLocaleString('en')} faces at full resolution`);
console.log(`reference, display route (decimate to ${GENERATE_DEFAULTS.targetTriangles.toLocaleString('en')}): ${displayFaces.toLocaleString('en')} faces in ${displayMs.toFixed(0)} ms`);
console.log('share of side | faces | × display faces | ms | × display time | deviation / tolerance | volume change');
for (const share of [CAD_TOLERANCE_AUTO_SHARE / 2, CAD_TOLERANCE_AUTO_SHARE, 2 * CAD_TOLERANCE_AUTO_SHARE, 5 * CAD_TOLERANCE_AUTO_SHARE]) {
  const tolerance = share * side;
  t0 = performance.now();
  const cad = simplifyToTolerance(full, tolerance);
  const ms = performance.now() - t0;
  const faces = cad.indices.length / 3;
  const deviation = twoWayDeviation(full, cad, 2 * tolerance) / tolerance;
  const dv = (100 * (meshVolume(cad.positions, cad.indices) - volume)) / volume;
  const mark = share === CAD_TOLERANCE_AUTO_SHARE ? ' (auto)' : '';
  console.log(
    `${(100 * share).toFixed(2)} %${mark} | ${faces.toLocaleString('en')} | ×${(faces / displayFaces).toFixed(3)} | ${ms.toFixed(0)} | ×${(ms / displayMs).toFixed(2)} | ${deviation.toFixed(3)} | ${dv.toFixed(4)} %`,
  );
}
