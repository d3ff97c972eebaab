import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mesh } from '../../src/pipeline/mesh/mesh.js';
import { recogniseCurvedRegions } from '../../src/pipeline/mesh/fit/recognise.js';
import { fitCone, fitCylinder, fitSphere, type RegionSamples } from '../../src/pipeline/mesh/fit/surfaces.js';
import { encodeStep, type StepOptions } from '../../src/pipeline/writers/step.js';
import { buildAdjacency } from '../../src/pipeline/writers/step/adjacency.js';
import { blockWithHole, coneFrustum, revolve, steppedShaft, uvSphere } from '../fixtures/analyticParts.js';
import { damaged, marchingCubesBlob } from '../fixtures/flatMeshes.js';
import { icosphere, meshVolume } from '../fixtures/meshes.js';

/*
 * Curved surfaces in the STEP writer: CAD-like tessellations come back as the faces they were
 * designed with (planes, cylinders, cones, spheres), OpenCascade reads them as one valid solid of the
 * mesh's volume, and organic or damaged meshes get no surfaces they do not have.
 */

const DRAW = 'occt-draw-7.6';
const drawProbe = spawnSync(DRAW, ['-b'], { input: 'exit\n', encoding: 'utf8' });
const drawSkip = drawProbe.error || drawProbe.status !== 0 ? `${DRAW} is not usable; apt-get install occt-draw` : false;

const workDir = mkdtempSync(join(tmpdir(), 'step-surfaces-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let fileNumber = 0;

interface DrawReport {
  readonly valid: boolean;
  readonly solids: number;
  readonly faces: number;
  readonly volume: number;
  readonly output: string;
}

function drawReport(text: string): DrawReport {
  const file = join(workDir, `f${++fileNumber}.step`);
  writeFileSync(file, text);
  const script = ['pload ALL', `stepread ${file} a *`, 'puts "@@check"', 'checkshape a_1', 'puts "@@count"', 'nbshapes a_1', 'puts "@@volume"', 'vprops a_1', 'exit'];
  const output = spawnSync(DRAW, ['-b'], { input: `${script.join('\n')}\n`, encoding: 'utf8', maxBuffer: 64 << 20 }).stdout;
  const section = (name: string): string => output.split(`@@${name}`)[1]?.split('@@')[0] ?? '';
  const count = (kind: string): number => Number(new RegExp(`^\\s*${kind}\\s*:\\s*(\\d+)`, 'm').exec(section('count'))?.[1] ?? NaN);
  return {
    valid: /This shape seems to be valid/.test(section('check')),
    solids: count('SOLID'),
    faces: count('FACE'),
    volume: Number(/Mass :\s*([-\d.e+]+)/.exec(section('volume'))?.[1] ?? NaN),
    output,
  };
}

const OPTIONS: StepOptions = { name: 'part', generator: 'surface test', timestamp: new Date(Date.UTC(2024, 0, 2)) };
const KINDS = ['PLANE', 'CYLINDRICAL_SURFACE', 'CONICAL_SURFACE', 'SPHERICAL_SURFACE'] as const;

/** How many entities of each surface type the file holds, and its faces. */
function surfaceCounts(text: string): Record<(typeof KINDS)[number] | 'ADVANCED_FACE', number> {
  const count = (kind: string): number => (text.match(new RegExp(`=${kind}\\(`, 'g')) ?? []).length;
  return {
    PLANE: count('PLANE'),
    CYLINDRICAL_SURFACE: count('CYLINDRICAL_SURFACE'),
    CONICAL_SURFACE: count('CONICAL_SURFACE'),
    SPHERICAL_SURFACE: count('SPHERICAL_SURFACE'),
    ADVANCED_FACE: count('ADVANCED_FACE'),
  };
}

describe('encodeStep: analytic surfaces on CAD-like parts', () => {
  // Each curved face of revolution is written as two halves (see curvedFaces.ts).
  const parts: { name: string; mesh: () => Mesh; planes: number; cylinders: number; cones: number; spheres: number }[] = [
    { name: 'block with a bored hole', mesh: () => blockWithHole(), planes: 6, cylinders: 2, cones: 0, spheres: 0 },
    { name: 'stepped shaft', mesh: () => steppedShaft(), planes: 4, cylinders: 6, cones: 0, spheres: 0 },
    { name: 'cone frustum', mesh: () => coneFrustum(), planes: 2, cylinders: 0, cones: 2, spheres: 0 },
    // Split at its equator, each half holding one pole of the sphere's axis in its middle.
    { name: 'sphere', mesh: () => uvSphere(12, 192, 96), planes: 0, cylinders: 0, cones: 0, spheres: 2 },
  ];
  for (const part of parts) {
    it(`${part.name}: its designed faces, one valid solid of the mesh's volume`, { skip: drawSkip }, () => {
      const mesh = part.mesh();
      const text = encodeStep(mesh, OPTIONS);
      const counts = surfaceCounts(text);
      assert.deepEqual(counts, {
        PLANE: part.planes,
        CYLINDRICAL_SURFACE: part.cylinders,
        CONICAL_SURFACE: part.cones,
        SPHERICAL_SURFACE: part.spheres,
        ADVANCED_FACE: part.planes + part.cylinders + part.cones + part.spheres,
      });
      const report = drawReport(text);
      assert.ok(report.valid, report.output);
      assert.equal(report.solids, 1);
      const volume = meshVolume(mesh.positions, mesh.indices);
      assert.ok(Math.abs(report.volume - volume) <= 1e-3 * volume, `volume ${report.volume}, mesh ${volume}`);
    });
  }

  it('tolerance 0 turns recognition off: the same part comes back faceted', () => {
    const counts = surfaceCounts(encodeStep(blockWithHole(), { ...OPTIONS, tolerance: 0 }));
    assert.equal(counts.CYLINDRICAL_SURFACE, 0);
    assert.ok(counts.PLANE > 6);
  });

  it('a tolerance below the tessellation noise finds no cylinder in a slightly wobbly hole', () => {
    // The hole's vertices alternate 0.02 mm in and out: a cylinder within 0.03 mm, not within 0.01 mm.
    const mesh = blockWithHole();
    const positions = Float32Array.from(mesh.positions);
    for (let v = 0; v < positions.length / 3; v++) {
      const r = Math.hypot(positions[v * 3]!, positions[v * 3 + 1]!);
      if (Math.abs(r - 6) > 1e-3) continue;
      const scale = (6 + (v % 2 === 0 ? 0.02 : -0.02)) / r;
      positions[v * 3]! *= scale;
      positions[v * 3 + 1]! *= scale;
    }
    const wobbly = { positions, indices: mesh.indices };
    assert.equal(surfaceCounts(encodeStep(wobbly, { ...OPTIONS, tolerance: 0.03 })).CYLINDRICAL_SURFACE, 2);
    assert.equal(surfaceCounts(encodeStep(wobbly, { ...OPTIONS, tolerance: 0.01 })).CYLINDRICAL_SURFACE, 0);
  });

  it('a hexagonal prism stays six planes: its sharp edges are designed, not a coarse cylinder', () => {
    const counts = surfaceCounts(encodeStep(revolve([[0, 0], [10, 0], [10, 20], [0, 20]], 6), OPTIONS));
    assert.equal(counts.CYLINDRICAL_SURFACE, 0);
    assert.equal(counts.PLANE, 8);
  });
});

describe('encodeStep: no false surfaces', () => {
  it('a marching-cubes ball and torus: no cylinders or cones, a valid solid of the mesh volume', { skip: drawSkip }, () => {
    const mesh = marchingCubesBlob(40);
    const text = encodeStep(mesh, OPTIONS);
    const counts = surfaceCounts(text);
    assert.equal(counts.CYLINDRICAL_SURFACE, 0);
    assert.equal(counts.CONICAL_SURFACE, 0);
    const report = drawReport(text);
    assert.ok(report.valid, report.output);
    const volume = meshVolume(mesh.positions, mesh.indices);
    assert.ok(Math.abs(report.volume - volume) <= 1e-3 * volume, `volume ${report.volume}, mesh ${volume}`);
  });

  it('a bumpy sphere (noise above the tolerance) is no sphere', () => {
    const mesh = icosphere(4, 20);
    const positions = Float32Array.from(mesh.positions);
    for (let v = 0; v < positions.length / 3; v++) {
      const bump = 1 + 0.01 * Math.sin(7 * positions[v * 3]!) * Math.cos(5 * positions[v * 3 + 1]!);
      for (let c = 0; c < 3; c++) positions[v * 3 + c]! *= bump;
    }
    const counts = surfaceCounts(encodeStep({ positions, indices: mesh.indices }, OPTIONS));
    assert.deepEqual([counts.SPHERICAL_SURFACE, counts.CYLINDRICAL_SURFACE, counts.CONICAL_SURFACE], [0, 0, 0]);
  });

  it('recognition finds no cylinder or cone in the organic blob or an icosphere, only their true spheres', () => {
    // The blob's ball: radius 0.3 at x = -0.35 of a ±0.75 field scaled to 100 mm; the icosphere's: 20 mm at the origin.
    for (const [mesh, centre, radius] of [
      [marchingCubesBlob(40), [(0.4 / 1.5) * 100, 50, 50], 20],
      [icosphere(4, 20), [0, 0, 0], 20],
    ] as const) {
      const welded = weldForTest(mesh);
      const regions = recogniseCurvedRegions({ ...welded, twin: buildAdjacency(welded.tri).twin, tolerance: 0.04 });
      assert.ok(regions.surfaces.length <= 1, JSON.stringify(regions.surfaces));
      for (const s of regions.surfaces) {
        assert.equal(s.kind, 'sphere');
        assert.ok(s.kind === 'sphere' && Math.abs(s.radius - radius) < 0.2, JSON.stringify(s));
        // Which grid axis the field's x became is the marching cubes' business: compare sorted.
        const sorted = [...s.location].sort((a, b) => a - b);
        const expected = [...centre].sort((a, b) => a - b);
        assert.ok(sorted.every((x, i) => Math.abs(x - expected[i]!) < 0.2), JSON.stringify(s));
      }
    }
    const welded = weldForTest(icosphere(4, 20));
    assert.equal(recogniseCurvedRegions({ ...welded, twin: buildAdjacency(welded.tri).twin, tolerance: 0.04 }).surfaces.length, 1);
  });
});

describe('encodeStep: damaged input with surfaces', () => {
  for (const seed of [3, 8, 13]) {
    it(`damaged block with a hole and damaged icosphere, seed ${seed}: OpenCascade still reads valid faces`, { skip: drawSkip }, () => {
      for (const mesh of [damaged(blockWithHole(), seed, seed % 2 === 0), damaged(icosphere(4, 20), seed, false)]) {
        const text = encodeStep(mesh, OPTIONS);
        assert.ok(!/MANIFOLD_SOLID_BREP/.test(text), 'an open mesh is no solid');
        const report = drawReport(text);
        assert.ok(report.valid, report.output);
      }
    });
  }
});

describe('mesh/fit: surface fits recover the surface', () => {
  const samplesOn = (point: (u: number, v: number) => [number, number, number], normal: (u: number, v: number) => [number, number, number]): RegionSamples => {
    const points: number[] = [], normals: number[] = [], areas: number[] = [];
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 6; j++) {
        const u = (i / 12) * 2, v = j / 6;
        points.push(...point(u, v));
        normals.push(...normal(u, v));
        areas.push(1);
      }
    }
    return { points: Float64Array.from(points), normals: Float64Array.from(normals), centroids: Float64Array.from(points), areas: Float64Array.from(areas) };
  };
  it('cylinder radius 5 about a tilted axis', () => {
    const a = [0, 0.6, 0.8] as const, b = [1, 0, 0] as const, c = [0, 0.8, -0.6] as const;
    const s = fitCylinder(
      samplesOn(
        (u, v) => [3 + 5 * Math.cos(u) * b[0] + 5 * Math.sin(u) * c[0] + 10 * v * a[0], 5 * Math.cos(u) * b[1] + 5 * Math.sin(u) * c[1] + 10 * v * a[1], 5 * Math.cos(u) * b[2] + 5 * Math.sin(u) * c[2] + 10 * v * a[2]],
        (u) => [Math.cos(u) * b[0] + Math.sin(u) * c[0], Math.cos(u) * b[1] + Math.sin(u) * c[1], Math.cos(u) * b[2] + Math.sin(u) * c[2]],
      ),
    );
    assert.equal(s?.kind, 'cylinder');
    assert.ok(Math.abs(s!.kind === 'cylinder' ? s!.radius - 5 : 1) < 1e-9);
    assert.ok(Math.abs(Math.abs(s!.axis[1] * 0.6 + s!.axis[2] * 0.8) - 1) < 1e-9);
  });
  it('cone of semi-angle 30° and sphere of radius 7', () => {
    const t = Math.tan(Math.PI / 6);
    const cone = fitCone(
      samplesOn(
        (u, v) => [(2 + 10 * v) * t * Math.cos(u), (2 + 10 * v) * t * Math.sin(u), 2 + 10 * v],
        (u) => [Math.cos(u) * Math.cos(Math.PI / 6), Math.sin(u) * Math.cos(Math.PI / 6), -Math.sin(Math.PI / 6)],
      ),
    );
    assert.equal(cone?.kind, 'cone');
    assert.ok(cone?.kind === 'cone' && Math.abs(cone.semiAngle - Math.PI / 6) < 1e-9);
    const sphere = fitSphere(samplesOn((u, v) => [1 + 7 * Math.cos(u) * Math.sin(v + 0.2), 7 * Math.sin(u) * Math.sin(v + 0.2), 7 * Math.cos(v + 0.2)], () => [0, 0, 1]));
    assert.ok(sphere?.kind === 'sphere' && Math.abs(sphere.radius - 7) < 1e-9 && Math.abs(sphere.location[0] - 1) < 1e-9);
  });
});

/** Triangles over shared vertices, as the writer's weld gives them (the fixtures already share vertices). */
function weldForTest(mesh: Mesh): { tri: Int32Array; coords: Float64Array } {
  return { tri: Int32Array.from(mesh.indices), coords: Float64Array.from(mesh.positions) };
}
