import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStl } from '../../src/pipeline/readers/stl.js';
import { convertMeshFile } from '../../src/pipeline/convert.js';
import { meshVolume } from '../fixtures/meshes.js';
import { cadParts, cadPartsMissing, type CadPart } from '../fixtures/cadParts.js';
import { occtCheck } from '../fixtures/occtCheck.js';

/*
 * The product's route for a CAD user's STL (convertMeshFile: read, simplify to the CAD tolerance,
 * STEP with recognised surfaces), on parts OpenCascade built and tessellated itself
 * (test/reference/cad-parts.tcl), read back by OpenCascade: one valid closed solid of the STL's volume
 * within the tolerance of it, and for the parts made of planes, cylinders, cones and spheres the faces
 * they were designed with (at most twice as many: each curved face is written as two halves), every
 * hole and step a cylinder, the frustum's side a cone, the ball a sphere.
 */

const skip = cadPartsMissing();
if (skip) console.log(`cadPartConversion.test: skipping: ${skip}`);

/**
 * Parts whose designed faces are all planes, cylinders, cones and spheres: the goal applies in
 * full. The filleted block's fillets meet their faces tangentially and its corners are tori: it comes
 * back faceted (valid, within the tolerance) until smooth regions are split into surfaces.
 */
const ANALYTIC = new Set(['plate_holes', 'stepped_shaft', 'cone_frustum', 'sphere']);

describe('converting CAD-exported STL to STEP', { skip }, () => {
  let parts: CadPart[] = [];
  const work = mkdtempSync(join(tmpdir(), 'cad-part-conversion-'));
  before(async () => {
    parts = await cadParts();
  });

  it('gives one valid solid within the tolerance and of the STL volume; analytic parts keep their designed faces', async () => {
    assert.equal(parts.length, 5);
    for (const part of parts) {
      const stlPath = join(work, `${part.name}.stl`);
      copyFileSync(part.stlPath, stlPath);
      const result = await convertMeshFile({ meshPath: stlPath, formats: ['step'], existing: 'fail' });
      const stepPath = result.files.find((f) => f.endsWith('.step'))!;
      const stl = readStl(readFileSync(stlPath)).mesh;
      const tolerance = result.cad!.toleranceMm;
      const check = occtCheck(stepPath, { reference: stl });
      const facts = `${part.name}: ${JSON.stringify({ faces: check.faces, types: check.surfaceCounts, distance: check.distance, tolerance })}`;
      assert.equal(check.valid, true, `${facts} ${check.faults}`);
      assert.equal(check.solids, 1, facts);
      assert.equal(check.freeEdges, 0, facts);
      // Recognised cylinders and cones enclose what the STL's chords cut off, so the STEP's volume is
      // held to the designed part's: no farther from it than the STL is, plus 0.1 %.
      const volume = meshVolume(stl.positions, stl.indices);
      const designed = part.volumeMm3;
      assert.ok(
        Math.abs(check.volume - designed) <= Math.abs(volume - designed) + 1e-3 * designed,
        `${facts}: volume ${check.volume}, STL ${volume}, designed ${designed}`,
      );
      // OpenCascade's own tessellation of what it read adds up to 1e-4 of the diagonal.
      assert.ok(check.distance!.hausdorff <= 1.1 * tolerance, facts);
      if (!ANALYTIC.has(part.name)) continue;
      assert.ok(check.faces <= 2 * part.designedFaces, facts);
      assert.equal(check.surfaceCounts.Plane ?? 0, part.surfaceCounts.Plane ?? 0, facts);
      for (const curved of ['CylindricalSurface', 'ConicalSurface', 'SphericalSurface']) {
        assert.equal(check.surfaceCounts[curved] ?? 0, 2 * (part.surfaceCounts[curved] ?? 0), `${facts}: ${curved}`);
      }
    }
  });
});
