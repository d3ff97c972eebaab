import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mesh } from '../../src/pipeline/mesh/mesh.js';
import { encodeStep, encodeStepBytes, type StepOptions } from '../../src/pipeline/writers/step.js';
import {
  bentPlate,
  cappedCube,
  checkerboardTop,
  combine,
  curvedPlate,
  damaged,
  lBracket,
  marchingCubesBlob,
  nearlyCappedCube,
  needleCube,
  pinchedTop,
  plateWithHoles,
  steppedBlock,
  tilted,
  voxelSolid,
} from '../fixtures/flatMeshes.js';
import { degenerateCube, icosphere, meshVolume, openBox, subdividedBox, unitCube } from '../fixtures/meshes.js';

/*
 * The STEP writer, checked three ways that do not rely on each other:
 * - our own reading of the file: every face's loops chain head to tail, the outer loop winds
 *   counter-clockwise about the plane's normal and holes clockwise, every loop vertex lies on the
 *   plane, a closed shell uses each edge once each way, and every vertex of the input mesh lies on
 *   the written surface within the file's uncertainty (so merging moved nothing further);
 * - OpenCascade's DRAW (occt-draw-7.6, Debian package occt-draw): checkshape, the counts of
 *   vertices, edges, faces and solids it builds, the volume (or area) and the tolerances it needed;
 * - occt-import-js (OpenCascade compiled to WebAssembly): reads it and triangulates it, with the
 *   same volume.
 */

// ---------------------------------------------------------------------------------------------
// occt-import-js, typed as far as these tests read it.

interface OcctMesh {
  readonly attributes: { readonly position: { readonly array: readonly number[] } };
  readonly index: { readonly array: readonly number[] };
}
interface Occt {
  ReadStepFile(content: Uint8Array, params: null): { readonly success: boolean; readonly meshes: readonly OcctMesh[] };
}
const occtFactory = require('occt-import-js') as () => Promise<Occt>;

// ---------------------------------------------------------------------------------------------
// OpenCascade DRAW

const DRAW = 'occt-draw-7.6';
const drawProbe = spawnSync(DRAW, ['-b'], { input: 'exit\n', encoding: 'utf8' });
const drawSkip = drawProbe.error || drawProbe.status !== 0 ? `${DRAW} is not usable (${drawProbe.error?.message ?? `exit ${drawProbe.status}`}); apt-get install occt-draw` : false;
if (drawSkip) console.log(`step.test: skipping the OpenCascade DRAW checks: ${drawSkip}`);

interface DrawReport {
  readonly valid: boolean;
  readonly output: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly volume: number;
  readonly area: number;
  readonly maxTolerance: number;
}

const workDir = mkdtempSync(join(tmpdir(), 'step-test-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let fileNumber = 0;

/** Reads the file in DRAW, checks the shape and measures it. */
function drawReport(text: string): DrawReport {
  const file = join(workDir, `f${++fileNumber}.step`);
  writeFileSync(file, text);
  const script = [
    'pload ALL',
    `stepread ${file} a *`,
    'puts "@@check"',
    'checkshape a_1',
    'puts "@@count"',
    'nbshapes a_1',
    'puts "@@volume"',
    'vprops a_1',
    'puts "@@area"',
    'sprops a_1',
    'puts "@@tolerance"',
    'tolerance a_1',
    'exit',
  ].join('\n');
  const run = spawnSync(DRAW, ['-b'], { input: `${script}\n`, encoding: 'utf8', maxBuffer: 64 << 20 });
  const output = run.stdout;
  const section = (name: string): string => output.split(`@@${name}`)[1]?.split('@@')[0] ?? '';
  const counts: Record<string, number> = {};
  for (const m of section('count').matchAll(/^\s*([A-Z]+)\s*:\s*(\d+)/gm)) counts[m[1]!] = Number(m[2]);
  const mass = (s: string): number => Number(/Mass :\s*([-\d.e+]+)/.exec(s)?.[1] ?? NaN);
  return {
    valid: /This shape seems to be valid/.test(section('check')),
    output,
    counts,
    volume: mass(section('volume')),
    area: mass(section('area')),
    maxTolerance: Number(/Tolerance MAX=([-\d.e+]+)/.exec(section('tolerance'))?.[1] ?? NaN),
  };
}

// ---------------------------------------------------------------------------------------------
// Our own reading of the file

interface Entity {
  readonly type: string;
  readonly refs: number[];
  readonly numbers: number[];
  readonly body: string;
}

/** The DATA section's simple entities by id, with their references and their parenthesised numbers. */
function parseEntities(text: string): Map<number, Entity> {
  const entities = new Map<number, Entity>();
  const data = text.slice(text.indexOf('DATA;') + 5, text.lastIndexOf('ENDSEC;'));
  for (const statement of data.split(';\n')) {
    const match = /^\s*#(\d+)=([A-Z_0-9]*)\(([\s\S]*)\)\s*$/.exec(statement);
    if (!match) continue;
    const body = match[3]!.replace(/'(?:[^']|'')*'/g, "''");
    const list = /\(([-\d.,]+)\)/.exec(body);
    entities.set(Number(match[1]), {
      type: match[2]!,
      refs: [...body.matchAll(/#(\d+)/g)].map((m) => Number(m[1])),
      numbers: list ? list[1]!.split(',').map(Number) : [],
      body,
    });
  }
  return entities;
}

type Vec = [number, number, number];

interface Loop {
  readonly outer: boolean;
  /** Start vertex of each oriented edge, in order (vertex ids). */
  readonly vertices: number[];
  readonly points: Vec[];
}

interface Face {
  readonly normal: Vec;
  readonly origin: Vec;
  readonly loops: Loop[];
}

interface Model {
  readonly text: string;
  readonly uncertainty: number;
  readonly faces: Face[];
  readonly counts: Readonly<Record<string, number>>;
  /** Per EDGE_CURVE, how often faces run it forwards and backwards. */
  readonly edgeUses: Map<number, { forward: number; backward: number }>;
  readonly closedShells: number;
  readonly openShells: number;
}

const sub = (a: Vec, b: Vec): Vec => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: Vec, b: Vec): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec, b: Vec): Vec => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a: Vec): number => Math.hypot(a[0], a[1], a[2]);
const unit = (a: Vec): Vec => {
  const l = norm(a);
  return [a[0] / l, a[1] / l, a[2] / l];
};

/**
 * Reads the faces back with their loops, checking on the way what a reader relies on: references
 * resolve to the right types, oriented edges chain head to tail and close, and each edge's line
 * starts at its start vertex and passes through its end vertex.
 */
function readModel(text: string): Model {
  const entities = parseEntities(text);
  const get = (id: number, type: string): Entity => {
    const e = entities.get(id);
    assert.ok(e, `#${id} exists`);
    assert.equal(e.type, type, `#${id} is a ${type}`);
    return e;
  };
  const uncertainty = Number(/LENGTH_MEASURE\(([\d.]+)\)/.exec(text)?.[1]);
  assert.ok(uncertainty > 0, 'the file states its uncertainty');
  const point = (id: number): Vec => get(id, 'CARTESIAN_POINT').numbers as Vec;
  const vertexPoint = (id: number): Vec => point(get(id, 'VERTEX_POINT').refs[0]!);
  const direction = (id: number): Vec => unit(get(id, 'DIRECTION').numbers as Vec);

  const checkedEdges = new Set<number>();
  const checkEdge = (id: number): void => {
    if (checkedEdges.has(id)) return;
    checkedEdges.add(id);
    const [v1, v2, lineId] = get(id, 'EDGE_CURVE').refs as [number, number, number];
    assert.notEqual(v1, v2, 'an edge joins two vertices');
    const line = get(lineId, 'LINE');
    const origin = point(line.refs[0]!);
    const along = direction(get(line.refs[1]!, 'VECTOR').refs[0]!);
    assert.deepEqual(origin, vertexPoint(v1), 'the line starts at the edge start');
    const end = sub(vertexPoint(v2), origin);
    assert.ok(dot(end, along) > 0, 'the line points at the edge end');
    assert.ok(norm(cross(end, along)) <= uncertainty / 10, `the line passes through the end vertex (off by ${norm(cross(end, along))})`);
  };

  const edgeUses = new Map<number, { forward: number; backward: number }>();
  const faces: Face[] = [];
  for (const [, entity] of entities) {
    if (entity.type !== 'ADVANCED_FACE') continue;
    assert.match(entity.body, /\.T\.$/, 'same_sense');
    const planeAxis = get(get(entity.refs.at(-1)!, 'PLANE').refs[0]!, 'AXIS2_PLACEMENT_3D');
    const origin = point(planeAxis.refs[0]!);
    const normal = direction(planeAxis.refs[1]!);
    const loops: Loop[] = [];
    for (const boundId of entity.refs.slice(0, -1)) {
      const bound = entities.get(boundId)!;
      assert.ok(bound.type === 'FACE_OUTER_BOUND' || bound.type === 'FACE_BOUND', `#${boundId} is a bound`);
      assert.match(bound.body, /\.T\.$/, 'bound orientation');
      const vertices: number[] = [];
      let previousEnd: number | undefined;
      for (const orientedId of get(bound.refs[0]!, 'EDGE_LOOP').refs) {
        const oriented = get(orientedId, 'ORIENTED_EDGE');
        const edgeId = oriented.refs[0]!;
        checkEdge(edgeId);
        const [v1, v2] = get(edgeId, 'EDGE_CURVE').refs as [number, number];
        const forward = oriented.body.endsWith('.T.');
        const [start, end] = forward ? [v1, v2] : [v2, v1];
        if (previousEnd !== undefined) assert.equal(start, previousEnd, 'loop edges chain head to tail');
        previousEnd = end;
        vertices.push(start);
        const uses = edgeUses.get(edgeId) ?? { forward: 0, backward: 0 };
        if (forward) uses.forward++;
        else uses.backward++;
        edgeUses.set(edgeId, uses);
      }
      assert.equal(previousEnd, vertices[0], 'loop closes');
      loops.push({ outer: bound.type === 'FACE_OUTER_BOUND', vertices, points: vertices.map(vertexPoint) });
    }
    faces.push({ normal, origin, loops });
  }
  const counts: Record<string, number> = {};
  for (const [, e] of entities) counts[e.type] = (counts[e.type] ?? 0) + 1;
  return {
    text,
    uncertainty,
    faces,
    counts,
    edgeUses,
    closedShells: counts.CLOSED_SHELL ?? 0,
    openShells: counts.OPEN_SHELL ?? 0,
  };
}

/** Area of a loop about `normal`, positive when it winds counter-clockwise seen from the normal's side. */
function loopArea(points: readonly Vec[], normal: Vec): number {
  let sum: Vec = [0, 0, 0];
  for (let i = 1; i + 1 < points.length; i++) {
    const c = cross(sub(points[i]!, points[0]!), sub(points[i + 1]!, points[0]!));
    sum = [sum[0] + c[0], sum[1] + c[1], sum[2] + c[2]];
  }
  return dot(sum, normal) / 2;
}

/** The checks every written face must pass, whatever the mesh. */
function checkFaces(model: Model, closed: boolean): void {
  const { uncertainty } = model;
  for (const [f, face] of model.faces.entries()) {
    const outer = face.loops.filter((l) => l.outer);
    assert.equal(outer.length, 1, `face ${f} has one outer bound`);
    assert.ok(face.loops[0]!.outer, `face ${f} lists its outer bound first`);
    const seen = new Set<number>();
    for (const loop of face.loops) {
      assert.ok(loop.vertices.length >= 3, `face ${f}: a loop has at least three edges`);
      const area = loopArea(loop.points, face.normal);
      if (loop.outer) assert.ok(area > 0, `face ${f}: outer loop counter-clockwise about the normal (${area})`);
      else assert.ok(area < 0, `face ${f}: hole clockwise about the normal (${area})`);
      for (const v of loop.vertices) {
        assert.ok(!seen.has(v), `face ${f}: vertex #${v} appears once in the face's loops (no pinch)`);
        seen.add(v);
      }
      for (const p of loop.points) {
        const off = Math.abs(dot(sub(p, face.origin), face.normal));
        assert.ok(off <= uncertainty / 2 + 1e-12, `face ${f}: loop vertex ${p.join(',')} lies ${off} off the plane`);
      }
    }
  }
  if (closed) {
    for (const [edge, uses] of model.edgeUses) {
      assert.deepEqual(uses, { forward: 1, backward: 1 }, `edge #${edge} used once each way in a closed shell`);
    }
  }
}

/**
 * The largest distance from the input mesh's vertices (up to `samples` of them, spread evenly) to
 * the written surface. Merging is only allowed to move the surface within the uncertainty.
 */
function largestDeviation(model: Model, mesh: Mesh, samples = 400): number {
  const prepared = model.faces.map((face) => prepareFace(face, model.uncertainty));
  const used = [...new Set(mesh.indices)];
  const step = Math.max(1, Math.floor(used.length / samples));
  let worst = 0;
  for (let i = 0; i < used.length; i += step) {
    const v = used[i]!;
    const q: Vec = [mesh.positions[v * 3]!, mesh.positions[v * 3 + 1]!, mesh.positions[v * 3 + 2]!];
    let best = Infinity;
    for (const face of prepared) {
      if (face.boxDistance(q) >= best) continue;
      best = Math.min(best, face.distance(q));
    }
    worst = Math.max(worst, best);
  }
  return worst;
}

interface PreparedFace {
  boxDistance(q: Vec): number;
  distance(q: Vec): number;
}

function prepareFace(face: Face, margin: number): PreparedFace {
  const n = face.normal;
  const e1 = unit(Math.abs(n[0]) < 0.9 ? cross(n, [1, 0, 0]) : cross(n, [0, 1, 0]));
  const e2 = cross(n, e1);
  const flat = face.loops.map((l) => l.points.map((p) => [dot(sub(p, face.origin), e1), dot(sub(p, face.origin), e2)] as const));
  const all = face.loops.flatMap((l) => l.points);
  const lo = [0, 1, 2].map((k) => Math.min(...all.map((p) => p[k]!)) - margin) as Vec;
  const hi = [0, 1, 2].map((k) => Math.max(...all.map((p) => p[k]!)) + margin) as Vec;
  return {
    boxDistance: (q) => {
      const dx = Math.max(lo[0] - q[0], 0, q[0] - hi[0]);
      const dy = Math.max(lo[1] - q[1], 0, q[1] - hi[1]);
      const dz = Math.max(lo[2] - q[2], 0, q[2] - hi[2]);
      return Math.sqrt(dx * dx + dy * dy + dz * dz);
    },
    distance: (q) => {
      const r = sub(q, face.origin);
      const x = dot(r, e1);
      const y = dot(r, e2);
      let inside = false;
      for (const loop of flat) {
        for (let i = 0, j = loop.length - 1; i < loop.length; j = i++) {
          const [xi, yi] = loop[i]!;
          const [xj, yj] = loop[j]!;
          if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
        }
      }
      if (inside) return Math.abs(dot(r, n));
      let best = Infinity;
      for (const loop of face.loops) {
        for (let i = 0; i < loop.points.length; i++) {
          best = Math.min(best, segmentDistance(q, loop.points[i]!, loop.points[(i + 1) % loop.points.length]!));
        }
      }
      return best;
    },
  };
}

function segmentDistance(q: Vec, a: Vec, b: Vec): number {
  const ab = sub(b, a);
  const s = Math.min(1, Math.max(0, dot(sub(q, a), ab) / dot(ab, ab)));
  return norm(sub(q, [a[0] + s * ab[0], a[1] + s * ab[1], a[2] + s * ab[2]]));
}

function meshArea(mesh: Mesh): number {
  let sum = 0;
  const p = (v: number): Vec => [mesh.positions[v * 3]!, mesh.positions[v * 3 + 1]!, mesh.positions[v * 3 + 2]!];
  for (let t = 0; t < mesh.indices.length; t += 3) {
    const a = p(mesh.indices[t]!);
    sum += norm(cross(sub(p(mesh.indices[t + 1]!), a), sub(p(mesh.indices[t + 2]!), a))) / 2;
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// The cases

interface Expected {
  readonly closed: boolean;
  /** Solids (closed) or shells (open). */
  readonly pieces?: number;
  readonly faces?: number;
  readonly vertices?: number;
  readonly edges?: number;
  /** FACE_BOUND entities: holes. */
  readonly holes?: number;
  /** Input vertices to compare against the surface; all of them when absent. */
  readonly samples?: number;
}

interface Case {
  readonly mesh: () => Mesh;
  readonly expected: Expected;
}

const box = (faces: number, vertices: number, edges: number): Expected => ({ closed: true, pieces: 1, faces, vertices, edges, holes: 0 });

const CASES: Record<string, Case> = {
  'closed cube': { mesh: () => unitCube(10), expected: box(6, 8, 12) },
  'subdivided box (384 coplanar triangles)': { mesh: () => subdividedBox(8, 30, 20, 10), expected: box(6, 8, 12) },
  'open box': { mesh: () => openBox(10), expected: { closed: false, pieces: 1, faces: 5, vertices: 8, edges: 12, holes: 0 } },
  'open subdivided box': {
    mesh: () => {
      // subdividedBox(6) without its +z face: the rim keeps its vertices (a border of the mesh).
      const m = subdividedBox(6, 30, 20, 10);
      const n = 6 * 6 * 2 * 3;
      return { positions: m.positions, indices: new Uint32Array([...m.indices.slice(0, n), ...m.indices.slice(2 * n)]) };
    },
    expected: { closed: false, pieces: 1, faces: 5, holes: 0 },
  },
  'plate with a through-hole': { mesh: () => plateWithHoles(1), expected: { closed: true, pieces: 1, faces: 10, vertices: 16, edges: 24, holes: 2 } },
  'plate with two holes': { mesh: () => plateWithHoles(2), expected: { closed: true, pieces: 1, faces: 14, vertices: 24, edges: 36, holes: 4 } },
  'L-bracket': { mesh: lBracket, expected: box(8, 12, 18) },
  'stepped block': { mesh: steppedBlock, expected: box(10, 16, 24) },
  // The flat top touches itself at the pyramids' shared corner: split into two faces, one with a hole.
  'pinch vertex': { mesh: () => pinchedTop(), expected: { closed: true, pieces: 1, faces: 15, holes: 1 } },
  'many pinch vertices': { mesh: () => checkerboardTop(8), expected: { closed: true, pieces: 1 } },
  'icosphere (nothing to merge)': { mesh: () => icosphere(3, 25), expected: box(1280, 642, 1920) },
  'degenerate triangles': { mesh: () => degenerateCube(10), expected: box(6, 8, 12) },
  'zero-area cap with shared edges': { mesh: cappedCube, expected: box(6, 8, 12) },
  'thin cap beside a diagonal': { mesh: nearlyCappedCube, expected: box(6, 8, 12) },
  'needles on an edge below the uncertainty': { mesh: needleCube, expected: box(6, 8, 12) },
  'two separate solids': {
    mesh: () => combine(unitCube(10), plateWithHoles(1), [20, 0, 0]),
    expected: { closed: true, pieces: 2, faces: 16, vertices: 24, edges: 36, holes: 2 },
  },
  'tilted plate (flat only to float32 precision)': {
    mesh: () => tilted(plateWithHoles(2), 0.4, 0.9, 50),
    expected: { closed: true, pieces: 1, faces: 14, vertices: 24, edges: 36, holes: 4 },
  },
  'slightly bent plate': { mesh: () => bentPlate(), expected: { closed: true, pieces: 1, faces: 7, vertices: 10, edges: 15, holes: 0 } },
  'shallow cylinder': { mesh: curvedPlate, expected: { closed: true, pieces: 1 } },
  'marching-cubes ball and torus': { mesh: () => marchingCubesBlob(56), expected: { closed: true, pieces: 2, samples: 600 } },
};

// Surface recognition off: these tests read every face back as a plane. Curved faces are checked in stepSurfaces.test.ts.
const OPTIONS: StepOptions = { name: "Bob's part ü", generator: 'step test', timestamp: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), tolerance: 0 };

describe('encodeStep: planar faces from coplanar triangles', () => {
  let occt: Occt;
  before(async () => {
    occt = await occtFactory();
  });

  for (const [name, { mesh: makeMesh, expected }] of Object.entries(CASES)) {
    describe(name, () => {
      // Built on first use, inside a test, so a failure is reported against it.
      let built: { mesh: Mesh; text: string; model: Model; volume: number } | undefined;
      const build = (): { mesh: Mesh; text: string; model: Model; volume: number } => {
        if (!built) {
          const mesh = makeMesh();
          const text = encodeStep(mesh, OPTIONS);
          built = { mesh, text, model: readModel(text), volume: meshVolume(mesh.positions, mesh.indices) };
        }
        return built;
      };

      it('has the expected faces, edges, vertices and holes', () => {
        const c = build().model.counts;
        if (expected.faces !== undefined) assert.equal(c.ADVANCED_FACE, expected.faces, 'faces');
        if (expected.vertices !== undefined) assert.equal(c.VERTEX_POINT, expected.vertices, 'vertices');
        if (expected.edges !== undefined) assert.equal(c.EDGE_CURVE, expected.edges, 'edges');
        if (expected.holes !== undefined) assert.equal(c.FACE_BOUND ?? 0, expected.holes, 'holes');
        if (expected.closed) {
          assert.equal(c.MANIFOLD_SOLID_BREP, expected.pieces, 'solids');
          assert.equal(c.CLOSED_SHELL, expected.pieces);
          assert.equal(c.ADVANCED_BREP_SHAPE_REPRESENTATION, 1);
          assert.equal(c.OPEN_SHELL ?? 0, 0);
        } else {
          assert.equal(c.OPEN_SHELL, expected.pieces, 'open shells');
          assert.equal(c.SHELL_BASED_SURFACE_MODEL, 1);
          assert.equal(c.MANIFOLD_SOLID_BREP ?? 0, 0);
        }
      });

      it('writes valid loops on planes through their vertices', () => {
        checkFaces(build().model, expected.closed);
      });

      it('keeps every input vertex on the written surface, within the uncertainty', () => {
        const { model, mesh } = build();
        const deviation = largestDeviation(model, mesh, expected.samples ?? Infinity);
        assert.ok(deviation <= model.uncertainty, `a vertex lies ${deviation} mm off the surface (uncertainty ${model.uncertainty})`);
      });

      it('passes OpenCascade checkshape with the same shape', { skip: drawSkip }, () => {
        const { mesh, text, model, volume } = build();
        const report = drawReport(text);
        assert.ok(report.valid, `checkshape:\n${report.output.slice(-3000)}`);
        assert.equal(report.counts.FACE, model.counts.ADVANCED_FACE, 'faces');
        assert.equal(report.counts.EDGE, model.counts.EDGE_CURVE, 'edges');
        assert.equal(report.counts.VERTEX, model.counts.VERTEX_POINT, 'vertices');
        assert.equal(report.counts.SOLID, expected.closed ? expected.pieces : 0, 'solids');
        if (expected.closed) {
          assert.ok(Math.abs(report.volume - volume) <= 1e-3 * volume, `vprops volume ${report.volume} vs mesh ${volume}`);
        } else {
          const area = meshArea(mesh);
          assert.ok(Math.abs(report.area - area) <= 1e-3 * area, `sprops area ${report.area} vs mesh ${area}`);
        }
        // OpenCascade widens a tolerance where geometry needs it; it never needed more than the file allows.
        assert.ok(report.maxTolerance <= model.uncertainty, `tolerance ${report.maxTolerance} > ${model.uncertainty}`);
      });

      it('imports with occt-import-js', () => {
        const { text, volume } = build();
        const result = occt.ReadStepFile(new TextEncoder().encode(text), null);
        assert.equal(result.success, true);
        assert.ok(result.meshes.length > 0);
        if (!expected.closed) return;
        let read = 0;
        for (const m of result.meshes) read += meshVolume(m.attributes.position.array, m.index.array);
        assert.ok(Math.abs(read - volume) <= 1e-3 * volume, `volume ${read} vs mesh ${volume}`);
      });
    });
  }
});

describe('encodeStep: merging', () => {
  it('never merges across a bend beyond the tolerance: the bent plate has a flat and a tilted top', () => {
    const model = readModel(encodeStep(bentPlate(), OPTIONS));
    const tops = model.faces.filter((f) => f.normal[2] > 0.99);
    assert.equal(tops.length, 2);
    const tiltedTop = tops.find((f) => f.normal[2] < 1)!;
    assert.ok(tiltedTop, 'one top face is tilted');
    assert.ok(Math.abs(Math.atan2(-tiltedTop.normal[0], tiltedTop.normal[2]) - Math.atan(1e-4)) < 1e-8, 'at the bend angle');
    // And one plate bent a hundred times less, within the tolerance, is one face again.
    assert.equal(readModel(encodeStep(bentPlate(1e-8), OPTIONS)).faces.length, 6);
  });

  it('does not follow a gently curved surface: faces stay within tolerance of their plane', () => {
    const mesh = curvedPlate();
    const model = readModel(encodeStep(mesh, OPTIONS));
    // The top sags 0.01 mm over 40 mm; a plane within ±u/2 covers at most a narrow band of it.
    const tops = model.faces.filter((f) => f.normal[2] > 0.9);
    assert.ok(tops.length > 20, `${tops.length} top faces`);
    assert.ok(largestDeviation(model, mesh) <= model.uncertainty);
  });

  it('merges flat regions into far smaller files than one face per triangle', () => {
    for (const mesh of [subdividedBox(20, 30, 20, 10), voxelSolid([12, 8, 10], (i, _j, k) => k < 2 || i < 2, [2.5, 2.5, 2.5])]) {
      const merged = encodeStepBytes(mesh, OPTIONS).length;
      const perTriangle = encodeStepBytes(mesh, { ...OPTIONS, mergeCoplanar: false }).length;
      assert.ok(merged * 3 <= perTriangle, `${merged} bytes merged vs ${perTriangle} per triangle`);
    }
  });

  it('mergeCoplanar: false writes one face per triangle, still with shared edges', { skip: drawSkip }, () => {
    const mesh = subdividedBox(4, 30, 20, 10);
    const text = encodeStep(mesh, { ...OPTIONS, mergeCoplanar: false });
    const model = readModel(text);
    assert.equal(model.counts.ADVANCED_FACE, mesh.indices.length / 3);
    checkFaces(model, true);
    const report = drawReport(text);
    assert.ok(report.valid);
    assert.equal(report.counts.SOLID, 1);
    assert.ok(Math.abs(report.volume - 6000) < 6);
  });
});

describe('encodeStep: damaged meshes', () => {
  let occt: Occt;
  before(async () => {
    occt = await occtFactory();
  });
  const bases: [string, () => Mesh][] = [
    ['subdivided box', () => subdividedBox(5, 30, 20, 10)],
    ['plate with two holes', () => plateWithHoles(2)],
    ['checkerboard of pinches', () => checkerboardTop(6)],
    ['icosphere', () => icosphere(2, 10)],
    ['L-bracket', lBracket],
  ];
  for (let seed = 1; seed <= 20; seed++) {
    const [name, make] = bases[seed % bases.length]!;
    const jitter = seed % 2 === 0;
    it(`${name}, seed ${seed}${jitter ? ', jittered' : ''}: holes, flips, doubles and slivers still give valid faces`, () => {
      const text = encodeStep(damaged(make(), seed, jitter), OPTIONS);
      const model = readModel(text);
      checkFaces(model, false);
      assert.equal(occt.ReadStepFile(new TextEncoder().encode(text), null).success, true);
      if (!drawSkip) {
        const report = drawReport(text);
        assert.ok(report.valid, `checkshape:\n${report.output.slice(-3000)}`);
        assert.equal(report.counts.FACE, model.counts.ADVANCED_FACE);
      }
    });
  }
});

describe('encodeStep: file format', () => {
  it('writes the header, product structure and units once, ASCII only, reals with a point and no exponent', () => {
    const text = encodeStep(plateWithHoles(1), OPTIONS);
    assert.match(text, /^ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION\(/);
    assert.match(text, /FILE_NAME\('Bob''s part \\X2\\00FC\\X0\\','2024-01-02T03:04:05\+00:00',/);
    assert.ok(text.includes("FILE_SCHEMA(('AUTOMOTIVE_DESIGN { 1 0 10303 214 1 1 1 1 }'));"));
    assert.ok(text.endsWith('ENDSEC;\nEND-ISO-10303-21;\n'));
    const entities = parseEntities(text);
    const count = (type: string): number => [...entities.values()].filter((e) => e.type === type).length;
    for (const type of ['APPLICATION_CONTEXT', 'APPLICATION_PROTOCOL_DEFINITION', 'PRODUCT', 'PRODUCT_DEFINITION', 'PRODUCT_DEFINITION_SHAPE', 'SHAPE_DEFINITION_REPRESENTATION']) {
      assert.equal(count(type), 1, type);
    }
    assert.ok(text.includes('SI_UNIT(.MILLI.,.METRE.)'));
    assert.doesNotMatch(text, /[^\x0a\x20-\x7e]/, 'ASCII only');
    const data = text.slice(text.indexOf('DATA;')).replace(/'[^']*'/g, "''");
    assert.doesNotMatch(data, /\d[eE][+-]?\d/, 'no exponent form');
    for (const line of data.split('\n').filter((l) => /=(CARTESIAN_POINT|DIRECTION|VECTOR)\(/.test(l))) {
      assert.doesNotMatch(line, /[(,]-?\d+[,)]/, `every real has a decimal point: ${line}`);
      assert.doesNotMatch(line, /-0\.[,)]|\d\.\d*0[,)]/, `no negative zero or trailing zeros: ${line}`);
    }
  });

  it('scales the uncertainty with the model and states it', () => {
    const small = readModel(encodeStep(unitCube(1), OPTIONS)).uncertainty;
    const large = readModel(encodeStep(unitCube(100), OPTIONS)).uncertainty;
    assert.equal(small, 0.000004, 'four grid steps at least');
    assert.ok(large >= 100 * 2 ** -21 && large < 100 * 2 ** -21 * 1.1, `${large}`);
  });

  it('gives the same file as a string and as bytes', () => {
    const mesh = icosphere(1, 5);
    const bytes = encodeStepBytes(mesh, OPTIONS);
    assert.equal(Buffer.from(bytes).toString('latin1'), encodeStep(mesh, OPTIONS));
  });

  it('rejects meshes it cannot write', () => {
    const options = OPTIONS;
    assert.throws(() => encodeStep({ positions: new Float32Array(9), indices: new Uint32Array([0, 1, 2]) }, options), RangeError);
    assert.throws(() => encodeStep({ positions: new Float32Array([0, 0, 0, 1, 0, 0, NaN, 1, 0]), indices: new Uint32Array([0, 1, 2]) }, options), RangeError);
    assert.throws(() => encodeStep({ positions: new Float32Array(9), indices: new Uint32Array([0, 1, 3]) }, options), RangeError);
    assert.throws(() => encodeStep({ positions: new Float32Array(8), indices: new Uint32Array([0, 1, 2]) }, options), RangeError);
  });
});
