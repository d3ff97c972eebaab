/**
 * Adaptive sampling on trained-like fields (TripoSR's decoder fitted to objects with thin parts, with
 * and without haze in the air; test/fixtures/trainedFields.ts), driven through the product's own
 * conversion and decoder at TripoSR's 256³: the final mesh (after the mesh stage) must equal the dense
 * path's within half a voxel both ways, any loose piece one has and the other lacks is listed with its
 * size, and the queries stay under a tenth of dense.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { sampleCoarseToFine } from '../../src/pipeline/surface/coarseToFine.js';
import { sampleDenseGrid } from '../../src/pipeline/surface/grid.js';
import { compareMeshes, finalMesh } from '../fixtures/meshComparison.js';
import { trainedFieldModel, type TrainedObject } from '../fixtures/trainedFields.js';
import type { LoadedModel } from '../../src/pipeline/network/session.js';

const ISO = 25;
const N = 256;
const cases: { object: TrainedObject; noise: 'none' | 'haze' }[] = [
  { object: 'blob', noise: 'none' },
  { object: 'mug', noise: 'none' },
  { object: 'mug', noise: 'haze' },
  { object: 'chair', noise: 'none' },
  { object: 'chair', noise: 'haze' },
  { object: 'lamp', noise: 'none' },
  { object: 'plant', noise: 'haze' },
];

const open: LoadedModel[] = [];
after(async () => {
  for (const model of open) await model.dispose();
});

for (const { object, noise } of cases) {
  test(`adaptive sampling of a trained-like ${object}${noise === 'haze' ? ' in haze' : ''} at ${N}³ gives the dense final mesh from under 10% of the queries`, async () => {
    const field = await trainedFieldModel(object, { noise, variant: 'fast' });
    open.push(field.model);
    let queried = 0;
    const counted = async (points: Float32Array): Promise<Float32Array> => {
      queried += points.length / 3;
      return field.query(points);
    };
    const dense = await sampleDenseGrid(field.query, N);
    const adaptive = await sampleCoarseToFine(counted, N, ISO);
    assert.equal(adaptive.queries, queried);
    const share = adaptive.queries / N ** 3;
    const comparison = compareMeshes(finalMesh(dense, N, ISO), finalMesh(adaptive.field, N, ISO), N);
    const describe = (pieces: typeof comparison.onlyInFirst): string =>
      pieces.map((p) => `${p.triangles} triangles, ${p.extentVoxels.toFixed(1)} voxels across`).join('; ') || 'none';
    console.log(
      `# ${object}${noise === 'haze' ? ' + haze' : ''}: ${(100 * share).toFixed(2)}% of dense queries ` +
        `(repair: ${adaptive.repair.surprises} surprises, ${adaptive.repair.repairQueries} repair, ${adaptive.repair.followQueries} follow, ${adaptive.repair.bandQueries} band), ` +
        `final meshes ${comparison.hausdorffVoxels.toFixed(3)} voxel apart; only in dense: ${describe(comparison.onlyInFirst)}; only in adaptive: ${describe(comparison.onlyInSecond)}`,
    );
    assert.ok(comparison.hausdorffVoxels <= 0.5, `final meshes ${comparison.hausdorffVoxels.toFixed(3)} voxels apart`);
    assert.deepEqual(comparison.onlyInFirst, [], 'a piece of the dense mesh is missing');
    assert.deepEqual(comparison.onlyInSecond, [], 'the adaptive mesh has a piece the dense one lacks');
    assert.ok(share <= 0.1, `${(100 * share).toFixed(2)}% of dense queries`);
  });
}
