import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import DxfParser from 'dxf-parser';
import { buildSync } from 'esbuild';
import type { Mesh } from '../../src/pipeline/mesh/mesh.js';
import { UserError, type Hint } from '../../src/pipeline/errors.js';
import { namesAction, namesOption, plainHint } from '../fixtures/userErrors.js';
import { CancelledError } from '../../src/pipeline/progress.js';
import { encodeGlb } from '../../src/pipeline/writers/glb.js';
import { encodeDxf } from '../../src/pipeline/writers/dxf.js';
import { encodeStep } from '../../src/pipeline/writers/step.js';
import { outputBaseName, plannedOutputPaths } from '../../src/pipeline/writers/outputs.js';
import { OUTPUT_FORMAT_IDS } from '../../src/pipeline/writers/outputFormats.js';
import { sweepTemporaryFiles, writeFilesSafely, type PendingFile } from '../../src/pipeline/writers/safeWrite.js';
import {
  degenerateCube,
  gridSphere,
  icosphere,
  meshVolume,
  openBox,
  subdividedBox,
  unitCube,
  distinctIndexTriangles,
} from '../fixtures/meshes.js';

// ---------------------------------------------------------------------------------------------
// Typings for the untyped validators, kept to what these tests read.

interface ValidatorMessage {
  readonly code: string;
  readonly message: string;
  readonly severity: number;
  readonly pointer?: string;
}
interface ValidatorReport {
  readonly issues: {
    readonly numErrors: number;
    readonly numWarnings: number;
    readonly numInfos: number;
    readonly numHints: number;
    readonly messages: readonly ValidatorMessage[];
  };
}
interface GltfValidator {
  validateBytes(data: Uint8Array, options?: { maxIssues?: number; writeTimestamp?: boolean }): Promise<ValidatorReport>;
}
interface OcctMesh {
  readonly attributes: { readonly position: { readonly array: readonly number[] } };
  readonly index: { readonly array: readonly number[] };
}
interface OcctResult {
  readonly success: boolean;
  readonly meshes: readonly OcctMesh[];
}
interface Occt {
  ReadStepFile(content: Uint8Array, params: null): OcctResult;
}

const validator = require('gltf-validator') as GltfValidator;
const occtFactory = require('occt-import-js') as () => Promise<Occt>;

const REPO_ROOT = path.resolve(__dirname, '../..');
const PYTHON = '/usr/bin/python3';

// ---------------------------------------------------------------------------------------------
// Fixtures

interface Fixture {
  readonly mesh: Mesh;
  /** Every edge used twice, in opposite directions, once degenerate triangles are gone. */
  readonly closed: boolean;
}

const FIXTURES: Record<string, () => Fixture> = {
  cube: () => ({ mesh: unitCube(10), closed: true }),
  icosphere: () => ({ mesh: icosphere(3, 25), closed: true }),
  openBox: () => ({ mesh: openBox(10), closed: false }),
  degenerate: () => ({ mesh: degenerateCube(10), closed: true }),
  subdividedBox: () => ({ mesh: subdividedBox(8, 30, 20, 10), closed: true }),
};
/** Too large for the slower DXF and STEP checks; used for the uint32 GLB path. */
const bigSphere = gridSphere();


describe('test fixtures', () => {
  it('wind outward and have the advertised sizes', () => {
    assert.equal(unitCube().indices.length, 36);
    assert.ok(Math.abs(meshVolume(unitCube(2).positions, unitCube(2).indices) - 8) < 1e-9);
    const ico = icosphere(2);
    assert.equal(ico.indices.length / 3, 20 * 16);
    assert.equal(ico.positions.length / 3, 10 * 16 + 2);
    assert.equal(ico.colors?.length, ico.positions.length);
    assert.ok(meshVolume(ico.positions, ico.indices) > 0);
    assert.ok(bigSphere.positions.length / 3 > 65535);
    assert.ok(Math.abs(meshVolume(bigSphere.positions, bigSphere.indices) - (4 / 3) * Math.PI) < 1e-3);
    const box = subdividedBox(5, 3, 2, 1);
    assert.equal(box.indices.length / 3, 6 * 25 * 2);
    assert.ok(Math.abs(meshVolume(box.positions, box.indices) - 6) < 1e-6);
    assert.equal(openBox().indices.length / 3, 10);
    const deg = degenerateCube();
    assert.equal(distinctIndexTriangles(deg).length / 3, deg.indices.length / 3 - deg.repeatedIndexTriangles);
  });
});

// ---------------------------------------------------------------------------------------------
// GLB

interface GlbParts {
  readonly json: {
    asset: { version: string; generator: string };
    accessors: { componentType: number; count: number; bufferView: number; min?: number[]; max?: number[] }[];
    bufferViews: { byteOffset: number; byteLength: number; byteStride?: number; target?: number }[];
    meshes: { primitives: { attributes: Record<string, number>; indices: number; material: number }[] }[];
    materials: { pbrMetallicRoughness: { metallicFactor: number; roughnessFactor: number }; doubleSided: boolean }[];
  };
  readonly bin: Uint8Array;
  readonly jsonChunkLength: number;
}

/** Splits a GLB into its two chunks, checking the container layout on the way. */
function splitGlb(glb: Uint8Array): GlbParts {
  const dv = new DataView(glb.buffer, glb.byteOffset, glb.byteLength);
  assert.equal(dv.getUint32(0, true), 0x46546c67, 'magic');
  assert.equal(dv.getUint32(4, true), 2, 'version');
  assert.equal(dv.getUint32(8, true), glb.byteLength, 'total length');
  const jsonLength = dv.getUint32(12, true);
  assert.equal(dv.getUint32(16, true), 0x4e4f534a);
  assert.equal(jsonLength % 4, 0, 'JSON chunk is 4-byte aligned');
  const jsonText = new TextDecoder().decode(glb.subarray(20, 20 + jsonLength));
  assert.match(jsonText, /^\{.*\} *$/s, 'JSON chunk padded with spaces');
  const binStart = 20 + jsonLength;
  const binLength = dv.getUint32(binStart, true);
  assert.equal(dv.getUint32(binStart + 4, true), 0x004e4942);
  assert.equal(binLength % 4, 0, 'BIN chunk is 4-byte aligned');
  assert.equal(binStart + 8 + binLength, glb.byteLength);
  return {
    json: JSON.parse(jsonText) as GlbParts['json'],
    bin: glb.subarray(binStart + 8, binStart + 8 + binLength),
    jsonChunkLength: jsonLength,
  };
}

async function validateGlb(glb: Uint8Array): Promise<void> {
  const report = await validator.validateBytes(glb, { maxIssues: 0, writeTimestamp: false });
  const { numErrors, numWarnings, numInfos, messages } = report.issues;
  const summary = messages.map((m) => `${m.severity} ${m.code} ${m.pointer ?? ''}: ${m.message}`).join('\n');
  assert.equal(numErrors, 0, summary);
  assert.equal(numWarnings, 0, summary);
  assert.equal(numInfos, 0, summary);
}

interface LoadedGeometry {
  readonly position: Float32Array;
  readonly normal?: Float32Array;
  readonly color?: Float32Array;
  readonly index: Uint16Array | Uint32Array;
}

/** Loads a GLB with three.js's own loader, which runs in Node for buffers without textures. */
async function loadWithThree(glb: Uint8Array): Promise<LoadedGeometry[]> {
  const { GLTFLoader } = await import('three/examples/jsm/loaders/GLTFLoader.js');
  const buffer = glb.slice().buffer;
  const gltf = await new GLTFLoader().parseAsync(buffer, '');
  const found: LoadedGeometry[] = [];
  gltf.scene.traverse((object) => {
    if (!('isMesh' in object) || !object.isMesh) return;
    const geometry = (object as unknown as { geometry: import('three').BufferGeometry }).geometry;
    const attr = (name: string): Float32Array | undefined =>
      geometry.getAttribute(name) ? (geometry.getAttribute(name).array as Float32Array) : undefined;
    found.push({
      position: attr('position')!,
      normal: attr('normal'),
      color: attr('color'),
      index: geometry.getIndex()!.array as Uint16Array | Uint32Array,
    });
  });
  return found;
}

describe('encodeGlb', () => {
  for (const [name, make] of Object.entries(FIXTURES)) {
    it(`${name}: validates clean and loads back identically`, async () => {
      const { mesh } = make();
      const glb = encodeGlb(mesh, { generator: 'writers test', name });
      await validateGlb(glb);
      const { json } = splitGlb(glb);
      assert.equal(json.asset.version, '2.0');
      assert.equal(json.asset.generator, 'writers test');
      const material = json.materials[0]!;
      assert.equal(material.pbrMetallicRoughness.metallicFactor, 0);
      assert.ok(Math.abs(material.pbrMetallicRoughness.roughnessFactor - 0.8) < 1e-9);
      assert.equal(material.doubleSided, false);
      for (const view of json.bufferViews) assert.equal(view.byteOffset % 4, 0);

      const [loaded, ...more] = await loadWithThree(glb);
      assert.equal(more.length, 0, 'one mesh');
      assert.deepEqual(Array.from(loaded!.position), Array.from(mesh.positions));
      assert.deepEqual(Array.from(loaded!.index), distinctIndexTriangles(mesh));
      assert.ok(loaded!.index instanceof Uint16Array, 'small meshes use uint16 indices');
      if (mesh.colors) assert.deepEqual(Array.from(loaded!.color!), Array.from(mesh.colors));
      else assert.equal(loaded!.color, undefined);
    });
  }

  it('uses uint32 indices beyond 65535 vertices, and writes normals', async () => {
    const glb = encodeGlb(bigSphere, { generator: 'writers test' });
    await validateGlb(glb);
    const { json } = splitGlb(glb);
    const primitive = json.meshes[0]!.primitives[0]!;
    assert.equal(json.accessors[primitive.indices]!.componentType, 5125);
    const indexView = json.bufferViews[json.accessors[primitive.indices]!.bufferView]!;
    assert.equal(indexView.byteStride, undefined, 'index views have no stride');
    assert.equal(indexView.target, 34963);
    const positionView = json.bufferViews[json.accessors[primitive.attributes.POSITION!]!.bufferView]!;
    assert.equal(positionView.target, 34962);
    assert.equal(positionView.byteStride, 12);
    assert.ok(primitive.attributes.NORMAL !== undefined);

    const [loaded] = await loadWithThree(glb);
    assert.ok(loaded!.index instanceof Uint32Array);
    assert.deepEqual(Array.from(loaded!.index), Array.from(bigSphere.indices));
    assert.deepEqual(Array.from(loaded!.position), Array.from(bigSphere.positions));
    for (let i = 0; i < 300; i += 3) {
      assert.ok(Math.abs(Math.hypot(loaded!.normal![i]!, loaded!.normal![i + 1]!, loaded!.normal![i + 2]!) - 1) < 1e-6);
    }
  });

  it('uses uint16 at exactly 65535 vertices and pads the index view', async () => {
    // 65535 vertices, 21845 triangles: an odd index count, so the uint16 view needs padding.
    const positions = new Float32Array(65535 * 3);
    const indices = new Uint32Array(21845 * 3);
    for (let t = 0; t < 21845; t++) {
      const v = t * 3;
      positions.set([t, 0, 0, t + 0.5, 1, 0, t, 0, 1], v * 3);
      indices.set([v, v + 1, v + 2], t * 3);
    }
    const glb = encodeGlb({ positions, indices }, { generator: 'writers test' });
    await validateGlb(glb);
    const { json } = splitGlb(glb);
    assert.equal(json.accessors[json.meshes[0]!.primitives[0]!.indices]!.componentType, 5123);

    // One more vertex, used by a triangle: index 65535 is uint16's primitive-restart value.
    const morePositions = new Float32Array(65536 * 3);
    morePositions.set(positions);
    morePositions.set([1, 2, 3], 65535 * 3);
    const moreIndices = new Uint32Array([...indices, 0, 1, 65535]);
    const bigger = encodeGlb({ positions: morePositions, indices: moreIndices }, { generator: 'writers test' });
    await validateGlb(bigger);
    const parts = splitGlb(bigger);
    assert.equal(parts.json.accessors[parts.json.meshes[0]!.primitives[0]!.indices]!.componentType, 5125);
  });

  it('renormalises bad normals and clamps colours rather than failing validation', async () => {
    const cube = unitCube();
    const normals = new Float32Array(24);
    normals.set([0, 0, 2, 0, 0, 0, NaN, 1, 0]); // not unit, zero, non-finite
    const colors = new Float32Array(24).fill(1.5);
    await validateGlb(encodeGlb({ ...cube, normals, colors }, { generator: 'g' }));
  });

  it('rejects a mesh with nothing to draw', () => {
    assert.throws(() => encodeGlb({ positions: new Float32Array(9), indices: new Uint32Array([0, 0, 1]) }, { generator: 'g' }));
  });
});

// ---------------------------------------------------------------------------------------------
// DXF

const ezdxfAvailable = spawnSync(PYTHON, ['-c', 'import ezdxf'], { stdio: 'ignore' }).status === 0;
const EZDXF_CHECK = `
import json, sys, ezdxf
doc = ezdxf.readfile(sys.argv[1])
auditor = doc.audit()
msp = doc.modelspace()
print(json.dumps({
  "errors": [str(e.message) for e in auditor.errors],
  "version": doc.dxfversion,
  "faces": len(msp.query("3DFACE")),
  "layers": sorted({e.dxf.layer for e in msp}),
}))
`;

interface EzdxfResult {
  errors: string[];
  version: string;
  faces: number;
  layers: string[];
}

function parseDxf(text: string): ReturnType<DxfParser['parseSync']> {
  return new DxfParser().parseSync(text);
}

describe('encodeDxf', () => {
  let dir: string;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'i3d-dxf-'));
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  for (const [name, make] of Object.entries(FIXTURES)) {
    it(`${name}: parses with the right faces and coordinates`, async (t: TestContext) => {
      const { mesh } = make();
      const text = encodeDxf(mesh, { layer: 'Mesh layer 1' });
      const kept = distinctIndexTriangles(mesh);

      assert.equal(text.split('\r\n').some((line) => line.includes('\n') || line.includes('\r')), false, 'CRLF throughout');
      assert.doesNotMatch(text, /\d[eE][+-]?\d/, 'no exponent form');
      assert.match(text, /\$ACADVER\r\n1\r\nAC1009\r\n/);

      const dxf = parseDxf(text);
      assert.ok(dxf);
      const faces = dxf.entities.filter((e) => e.type === '3DFACE');
      assert.equal(faces.length, kept.length / 3);
      assert.equal(dxf.entities.length, kept.length / 3);
      const first = faces[0] as unknown as { vertices: { x: number; y: number; z: number }[]; layer: string };
      assert.equal(first.layer, 'MESH_LAYER_1');
      const corners = [kept[0]!, kept[1]!, kept[2]!, kept[2]!];
      corners.forEach((v, i) => {
        const p = first.vertices[i]!;
        assert.ok(Math.abs(p.x - mesh.positions[v * 3]!) < 1e-6, `x of corner ${i}`);
        assert.ok(Math.abs(p.y - mesh.positions[v * 3 + 1]!) < 1e-6, `y of corner ${i}`);
        assert.ok(Math.abs(p.z - mesh.positions[v * 3 + 2]!) < 1e-6, `z of corner ${i}`);
      });
      const header = dxf.header as Record<string, { x: number; y: number; z: number } | string>;
      assert.equal(header.$ACADVER, 'AC1009');
      const extMax = header.$EXTMAX as { x: number; y: number; z: number };
      const maxX = Math.max(...kept.map((v) => mesh.positions[v * 3]!));
      assert.ok(Math.abs(extMax.x - maxX) < 1e-6);
      assert.ok(dxf.tables.layer.layers.MESH_LAYER_1, 'layer is defined in the LAYER table');

      const skip = ezdxfAvailable ? false : `ezdxf is not importable by ${PYTHON}`;
      if (skip) console.log(`${name}: skipping the ezdxf audit: ${skip}`);
      await t.test('ezdxf reads and audits it without errors', { skip }, async () => {
        const file = path.join(dir, `${name}.dxf`);
        await fsp.writeFile(file, text);
        const run = spawnSync(PYTHON, ['-c', EZDXF_CHECK, file], { encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
        const result = JSON.parse(run.stdout) as EzdxfResult;
        assert.deepEqual(result.errors, []);
        assert.equal(result.version, 'AC1009');
        assert.equal(result.faces, kept.length / 3);
        assert.deepEqual(result.layers, ['MESH_LAYER_1']);
      });
    });
  }

  it('reduces layer names to what R12 allows', () => {
    const layerOf = (layer: string): string => /\r\n8\r\n([^\r]*)\r\n/.exec(encodeDxf(unitCube(), { layer }))![1]!;
    assert.equal(layerOf('photo.v2 (final)'), 'PHOTO_V2__FINAL_');
    assert.equal(layerOf('名前'), 'MESH');
    assert.equal(layerOf(''), 'MESH');
    assert.equal(layerOf('a$b-c_d'), 'A$B-C_D');
    assert.equal(layerOf('x'.repeat(80)).length, 31);
  });

  it('keeps 1 µm at metre scale without exponent form', () => {
    const positions = new Float32Array([1000.001, 0, 0, 0, 1000, 0, 0, 0, 0.000001]);
    const text = encodeDxf({ positions, indices: new Uint32Array([0, 1, 2]) }, { layer: 'm' });
    const dxf = parseDxf(text)!;
    const face = dxf.entities[0] as unknown as { vertices: { x: number; z: number }[] };
    assert.ok(Math.abs(face.vertices[0]!.x - 1000.001) < 1e-4);
    assert.doesNotMatch(text, /\d[eE][+-]?\d/);
  });
});

// ---------------------------------------------------------------------------------------------
// STEP

function count(text: string, entity: string): number {
  return text.split(`=${entity}(`).length - 1;
}

/** The entities of a Part 21 DATA section, by id, with references and numbers pulled out. */
function parseEntities(text: string): Map<number, { type: string; refs: number[]; body: string }> {
  const entities = new Map<number, { type: string; refs: number[]; body: string }>();
  const data = text.slice(text.indexOf('DATA;') + 5, text.lastIndexOf('ENDSEC;'));
  for (const statement of data.split(';')) {
    const match = /^\s*#(\d+)=\s*([A-Z_0-9]*)\s*\(([\s\S]*)\)\s*$/.exec(statement);
    if (!match) continue;
    const body = match[3]!.replace(/'(?:[^']|'')*'/g, "''");
    entities.set(Number(match[1]), { type: match[2]!, refs: [...body.matchAll(/#(\d+)/g)].map((m) => Number(m[1])), body });
  }
  return entities;
}

/**
 * Checks what OpenCascade forgives: every loop's oriented edges chain head to tail, each face's plane
 * normal agrees with its outer loop's winding, and in a closed shell every edge is traversed once in
 * each direction.
 */
function checkTopology(text: string, closed: boolean): void {
  const entities = parseEntities(text);
  const get = (id: number, type: string): { type: string; refs: number[]; body: string } => {
    const entity = entities.get(id);
    assert.ok(entity, `#${id} exists`);
    assert.equal(entity.type, type, `#${id} is a ${type}`);
    return entity;
  };
  const point = (vertexId: number): number[] => {
    const cartesian = get(get(vertexId, 'VERTEX_POINT').refs[0]!, 'CARTESIAN_POINT');
    return /\(([^()]*)\)/.exec(cartesian.body)![1]!.split(',').map(Number);
  };
  const direction = (id: number): number[] => /\(([^()]*)\)/.exec(get(id, 'DIRECTION').body)![1]!.split(',').map(Number);
  const traversals = new Map<number, number>();
  for (const [, face] of entities) {
    if (face.type !== 'ADVANCED_FACE') continue;
    assert.match(face.body, /\.T\.$/, 'same_sense');
    const [outerBound, plane] = [face.refs[0]!, face.refs[face.refs.length - 1]!];
    const loop = get(get(outerBound, 'FACE_OUTER_BOUND').refs[0]!, 'EDGE_LOOP');
    const corners: number[][] = [];
    let previousEnd: number | undefined;
    let firstStart: number | undefined;
    for (const orientedId of loop.refs) {
      const oriented = get(orientedId, 'ORIENTED_EDGE');
      const edgeId = oriented.refs[0]!;
      const [v1, v2] = get(edgeId, 'EDGE_CURVE').refs;
      const forward = oriented.body.endsWith('.T.');
      const [start, end] = forward ? [v1!, v2!] : [v2!, v1!];
      if (previousEnd !== undefined) assert.equal(start, previousEnd, 'loop edges chain head to tail');
      firstStart ??= start;
      previousEnd = end;
      corners.push(point(start));
      traversals.set(edgeId, (traversals.get(edgeId) ?? 0) + (forward ? 1 : 1000));
    }
    assert.equal(previousEnd, firstStart, 'loop closes');
    const [a, b, c] = corners as [number[], number[], number[]];
    const u = [b[0]! - a[0]!, b[1]! - a[1]!, b[2]! - a[2]!];
    const v = [c[0]! - a[0]!, c[1]! - a[1]!, c[2]! - a[2]!];
    const winding = [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
    const axis = direction(get(get(plane, 'PLANE').refs[0]!, 'AXIS2_PLACEMENT_3D').refs[1]!);
    const dot = winding[0]! * axis[0]! + winding[1]! * axis[1]! + winding[2]! * axis[2]!;
    assert.ok(dot > 0, 'plane normal follows the outer loop');
  }
  if (closed) {
    for (const [edgeId, uses] of traversals) assert.equal(uses, 1001, `edge #${edgeId} used once each way`);
  }
}

describe('encodeStep', () => {
  let occt: Occt;
  before(async () => {
    occt = await occtFactory();
  });

  // One face per triangle: these checks count faces, edges and loop lengths against the mesh itself.
  // Merging coplanar triangles is covered in step.test.ts.
  const options = {
    name: "Bob's part ü",
    generator: 'writers test',
    timestamp: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    mergeCoplanar: false,
  };

  for (const [name, make] of Object.entries(FIXTURES)) {
    it(`${name}: imports in OpenCascade${make().closed ? ' as a solid with the same volume' : ' as a surface model'}`, () => {
      const { mesh, closed } = make();
      const text = encodeStep(mesh, options);

      assert.match(text, /^ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION\(/);
      assert.match(text, /FILE_NAME\('Bob''s part \\X2\\00FC\\X0\\','2024-01-02T03:04:05\+00:00',/);
      assert.ok(text.includes("FILE_SCHEMA(('AUTOMOTIVE_DESIGN { 1 0 10303 214 1 1 1 1 }'));"));
      assert.ok(text.endsWith('ENDSEC;\nEND-ISO-10303-21;\n'));
      for (const entity of [
        'APPLICATION_CONTEXT', 'APPLICATION_PROTOCOL_DEFINITION', 'PRODUCT_CONTEXT', 'PRODUCT',
        'PRODUCT_DEFINITION_FORMATION', 'PRODUCT_DEFINITION_CONTEXT', 'PRODUCT_DEFINITION',
        'PRODUCT_DEFINITION_SHAPE', 'SHAPE_DEFINITION_REPRESENTATION', 'PRODUCT_RELATED_PRODUCT_CATEGORY',
        'UNCERTAINTY_MEASURE_WITH_UNIT',
      ]) {
        assert.equal(count(text, entity), 1, entity);
      }
      assert.ok(text.includes('SI_UNIT(.MILLI.,.METRE.)'));
      assert.ok(text.includes('SI_UNIT($,.RADIAN.)'));
      assert.ok(text.includes('SI_UNIT($,.STERADIAN.)'));
      const data = text.slice(text.indexOf('DATA;')).replace(/'[^']*'/g, "''");
      assert.doesNotMatch(data, /\d[eE][+-]?\d/, 'no exponent form');
      for (const line of data.split('\n').filter((l) => /=(CARTESIAN_POINT|DIRECTION|VECTOR)\(/.test(l))) {
        assert.doesNotMatch(line, /[(,]-?\d+[,)]/, `every real has a decimal point: ${line}`);
      }

      // Shared topology: one vertex per distinct point, one edge per distinct mesh edge.
      const faces = count(text, 'ADVANCED_FACE');
      const vertices = count(text, 'VERTEX_POINT');
      const edges = count(text, 'EDGE_CURVE');
      assert.equal(count(text, 'ORIENTED_EDGE'), faces * 3);
      if (closed) assert.equal(vertices - edges + faces, 2, 'Euler characteristic of a sphere');
      if (name === 'cube' || name === 'degenerate') assert.deepEqual([vertices, edges, faces], [8, 18, 12]);

      if (closed) {
        assert.equal(count(text, 'CLOSED_SHELL'), 1);
        assert.equal(count(text, 'MANIFOLD_SOLID_BREP'), 1);
        assert.equal(count(text, 'ADVANCED_BREP_SHAPE_REPRESENTATION'), 1);
        assert.equal(count(text, 'OPEN_SHELL'), 0);
      } else {
        assert.equal(count(text, 'OPEN_SHELL'), 1);
        assert.equal(count(text, 'SHELL_BASED_SURFACE_MODEL'), 1);
        assert.equal(count(text, 'MANIFOLD_SURFACE_SHAPE_REPRESENTATION'), 1);
        assert.equal(count(text, 'MANIFOLD_SOLID_BREP'), 0);
      }

      checkTopology(text, closed);

      const result = occt.ReadStepFile(new TextEncoder().encode(text), null);
      assert.equal(result.success, true);
      assert.ok(result.meshes.length > 0);
      let triangles = 0;
      let volume = 0;
      for (const m of result.meshes) {
        triangles += m.index.array.length / 3;
        volume += meshVolume(m.attributes.position.array, m.index.array);
      }
      assert.equal(triangles, faces, 'OpenCascade triangulates each planar triangle face as one triangle');
      if (closed) {
        const expected = meshVolume(mesh.positions, mesh.indices);
        assert.ok(Math.abs(volume - expected) <= 0.005 * Math.abs(expected), `volume ${volume} vs ${expected}`);
      }
    });
  }

  it('drops degenerate triangles: repeated indices, collinear and coincident points', () => {
    const mesh = degenerateCube(10);
    const text = encodeStep(mesh, options);
    assert.equal(count(text, 'ADVANCED_FACE'), mesh.validTriangles);
    // A near-sliver thinner than the tolerance goes too, while a thin but real triangle stays.
    const sliver = encodeStep(
      { positions: new Float32Array([0, 0, 0, 10, 0, 0, 5, 0.0000001, 0, 5, 0.001, 0]), indices: new Uint32Array([0, 1, 2, 0, 1, 3]) },
      options,
    );
    assert.equal(count(sliver, 'ADVANCED_FACE'), 1);
    assert.throws(() => encodeStep({ positions: new Float32Array(9), indices: new Uint32Array([0, 1, 2]) }, options));
  });

  it('welds vertices that share a position and keeps separate pieces as separate solids', () => {
    // Two cubes, the second with its own copy of every vertex and a duplicate set of corners.
    const a = unitCube(1);
    const b = unitCube(1);
    const positions = new Float32Array([...a.positions, ...b.positions.map((v, i) => (i % 3 === 0 ? v + 5 : v))]);
    const indices = new Uint32Array([...a.indices, ...b.indices.map((i) => i + 8)]);
    const text = encodeStep({ positions, indices }, options);
    assert.equal(count(text, 'MANIFOLD_SOLID_BREP'), 2);
    assert.equal(count(text, 'VERTEX_POINT'), 16);
    const result = occt.ReadStepFile(new TextEncoder().encode(text), null);
    assert.equal(result.success, true);
    let volume = 0;
    for (const m of result.meshes) volume += meshVolume(m.attributes.position.array, m.index.array);
    assert.ok(Math.abs(volume - 2) < 0.01, `volume ${volume}`);
  });
});

// ---------------------------------------------------------------------------------------------
// Output names

describe('outputBaseName / plannedOutputPaths', () => {
  const cases: [string, string][] = [
    ['../../etc/passwd.png', 'passwd'],
    ['a/b\\c.png', 'c'],
    ['C:\\Users\\me\\photo.final.jpeg', 'photo.final'],
    ['CON.png', '_CON'],
    ['nul.tar.png', '_nul.tar'],
    ['COM1.jpg', '_COM1'],
    ['console.png', 'console'],
    ['...png', 'model'],
    ['..', 'model'],
    ['', 'model'],
    ['dir/', 'model'],
    ['.hidden.png', 'hidden'],
    ['名前.jpg', '名前'],
    ['x\u0000y.png', 'x_y'],
    ['what?<is>:"this"|*.png', 'what__is___this___'],
    ['trailing. . .png', 'trailing'],
    ['no-extension', 'no-extension'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(outputBaseName(input), expected);
    });
  }

  it('bounds long names without splitting characters', () => {
    const ascii = outputBaseName(`${'a'.repeat(500)}.png`);
    assert.ok(ascii.length > 0 && ascii.length <= 120);
    const wide = outputBaseName(`${'名'.repeat(200)}😀.png`);
    assert.ok(Buffer.byteLength(wide, 'utf8') <= 120);
    assert.equal(wide, '名'.repeat(40));
    assert.equal(outputBaseName(`${'b'.repeat(119)}😀.png`), 'b'.repeat(119));
    assert.equal(outputBaseName(`${'c'.repeat(119)}. x.png`), 'c'.repeat(119), 'trailing dot trimmed after truncation');
  });

  it('never yields separators, control characters or dot names', () => {
    const nasty = ['/', '\\', '..\\..\\', '\u0001\u0002.png', ' .png', 'a\u007f\u0085b.png', '\ud800x.png', 'lpt9', 'AUX .png'];
    for (const input of nasty) {
      const base = outputBaseName(input);
      assert.doesNotMatch(base, /[\\/\u0000-\u001f\u007f-\u009f<>:"|?*]/, input);
      assert.ok(base !== '' && base !== '.' && base !== '..', input);
      assert.ok(!base.endsWith('.') && !base.endsWith(' '), input);
    }
    assert.equal(outputBaseName('AUX .png'), '_AUX');
  });

  it('plans one path per format next to the image or in the chosen folder', () => {
    assert.deepEqual([...OUTPUT_FORMAT_IDS], ['glb', 'dxf', 'step', 'obj', 'stl', 'ply']);
    const image = path.join(path.sep, 'photos', 'cat.png');
    assert.deepEqual(
      plannedOutputPaths(image, OUTPUT_FORMAT_IDS),
      ['glb', 'dxf', 'step', 'obj', 'stl', 'ply'].map((ext) => path.join(path.sep, 'photos', `cat.${ext}`)),
    );
    const out = path.join(path.sep, 'out');
    assert.deepEqual(plannedOutputPaths('../../x/CON.png', ['step'], out), [path.join(out, '_CON.step')]);
  });
});

// ---------------------------------------------------------------------------------------------
// Safe writing

describe('writeFilesSafely / sweepTemporaryFiles', () => {
  let root: string;
  let dir: string;
  let caseNumber = 0;
  before(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'i3d-write-'));
  });
  after(async () => {
    await fsp.chmod(root, 0o700).catch(() => undefined);
    await fsp.rm(root, { recursive: true, force: true });
  });
  // Each test gets its own empty folder.
  const freshDir = async (): Promise<string> => {
    dir = path.join(root, `case${++caseNumber}`);
    await fsp.mkdir(dir);
    return dir;
  };
  const listing = async (): Promise<string[]> => (await fsp.readdir(dir)).sort();
  const rejectsWithCode = async (promise: Promise<unknown>, code: string): Promise<UserError> => {
    let caught: unknown;
    await promise.catch((error: unknown) => {
      caught = error;
    });
    assert.ok(caught instanceof UserError, `expected a UserError, got ${String(caught)}`);
    assert.equal(caught.code, code);
    return caught;
  };

  it('writes every file and leaves no temporary', async () => {
    await freshDir();
    const files: PendingFile[] = [
      { path: path.join(dir, 'm.glb'), data: new Uint8Array([1, 2, 3]) },
      { path: path.join(dir, 'm.dxf'), data: 'DXF ü' },
    ];
    const written = await writeFilesSafely(files, { existing: 'fail' });
    assert.deepEqual(written, files.map((f) => f.path));
    assert.deepEqual(await listing(), ['m.dxf', 'm.glb']);
    assert.deepEqual([...(await fsp.readFile(path.join(dir, 'm.glb')))], [1, 2, 3]);
    assert.equal(await fsp.readFile(path.join(dir, 'm.dxf'), 'utf8'), 'DXF ü');
  });

  it("'fail' refuses to replace anything and creates nothing", async () => {
    await freshDir();
    await fsp.writeFile(path.join(dir, 'm.dxf'), 'old');
    await fsp.writeFile(path.join(dir, 'm.step'), 'old step');
    const files: PendingFile[] = [
      { path: path.join(dir, 'm.glb'), data: 'new' },
      { path: path.join(dir, 'm.dxf'), data: 'new' },
      { path: path.join(dir, 'm.step'), data: 'new' },
    ];
    const error = await rejectsWithCode(writeFilesSafely(files, { existing: 'fail', tag: 't1' }), 'output-exists');
    // All names are checked before anything moves, so the message lists every one in the way.
    assert.ok(error.message.includes(path.join(dir, 'm.dxf')), error.message);
    assert.ok(error.message.includes(path.join(dir, 'm.step')), error.message);
    assert.ok(!error.message.includes('m.glb'), 'names only the files that exist');
    assert.ok(namesOption(error.hint, 'existing'), plainHint(error.hint));
    assert.deepEqual(error.details.existingFiles, [path.join(dir, 'm.dxf'), path.join(dir, 'm.step')]);
    assert.equal(await fsp.readFile(path.join(dir, 'm.dxf'), 'utf8'), 'old');
    assert.equal(await fsp.readFile(path.join(dir, 'm.step'), 'utf8'), 'old step');
    assert.deepEqual(await listing(), ['m.dxf', 'm.step']);
  });

  it("'suffix' numbers the whole set past any existing name", async () => {
    await freshDir();
    await fsp.writeFile(path.join(dir, 'm.glb'), 'old');
    await fsp.writeFile(path.join(dir, 'm (2).dxf'), 'old');
    const files = (): PendingFile[] => [
      { path: path.join(dir, 'm.glb'), data: 'new' },
      { path: path.join(dir, 'm.dxf'), data: 'new' },
    ];
    assert.deepEqual(await writeFilesSafely(files(), { existing: 'suffix' }), [
      path.join(dir, 'm (3).glb'),
      path.join(dir, 'm (3).dxf'),
    ]);
    assert.deepEqual(await writeFilesSafely(files(), { existing: 'suffix' }), [
      path.join(dir, 'm (4).glb'),
      path.join(dir, 'm (4).dxf'),
    ]);
    assert.equal(await fsp.readFile(path.join(dir, 'm.glb'), 'utf8'), 'old');
    assert.deepEqual(await listing(), ['m (2).dxf', 'm (3).dxf', 'm (3).glb', 'm (4).dxf', 'm (4).glb', 'm.glb']);
    // With nothing in the way, the plain names are used.
    await freshDir();
    assert.deepEqual(await writeFilesSafely(files(), { existing: 'suffix' }), files().map((f) => f.path));
  });

  it("'overwrite' replaces existing files", async () => {
    await freshDir();
    await fsp.writeFile(path.join(dir, 'm.glb'), 'old');
    await writeFilesSafely(
      [
        { path: path.join(dir, 'm.glb'), data: 'new' },
        { path: path.join(dir, 'm.step'), data: 'step' },
      ],
      { existing: 'overwrite' },
    );
    assert.equal(await fsp.readFile(path.join(dir, 'm.glb'), 'utf8'), 'new');
    assert.deepEqual(await listing(), ['m.glb', 'm.step']);
  });

  it('cancellation before the moves leaves nothing behind', async () => {
    await freshDir();
    const already = new AbortController();
    already.abort();
    await assert.rejects(
      writeFilesSafely([{ path: path.join(dir, 'a.glb'), data: 'x' }], { existing: 'fail', signal: already.signal }),
      CancelledError,
    );
    // Cancelled while the temporaries are being written: the first is complete when it happens.
    const controller = new AbortController();
    const files: PendingFile[] = [
      { path: path.join(dir, 'a.glb'), data: 'x' },
      {
        path: path.join(dir, 'a.dxf'),
        get data() {
          controller.abort();
          return 'y';
        },
      },
      { path: path.join(dir, 'a.step'), data: 'z' },
    ];
    await assert.rejects(writeFilesSafely(files, { existing: 'overwrite', signal: controller.signal }), CancelledError);
    assert.deepEqual(await listing(), []);
  });

  it('a folder in the way stops an overwrite before anything is replaced', async () => {
    await freshDir();
    await fsp.writeFile(path.join(dir, 'keep.glb'), 'old');
    // A non-empty folder where the last file should go: no file can take its name.
    await fsp.mkdir(path.join(dir, 'm.step'));
    await fsp.writeFile(path.join(dir, 'm.step', 'inside'), '');
    const error = await rejectsWithCode(
      writeFilesSafely(
        [
          { path: path.join(dir, 'keep.glb'), data: 'new' },
          { path: path.join(dir, 'm.dxf'), data: 'new' },
          { path: path.join(dir, 'm.step'), data: 'new' },
        ],
        { existing: 'overwrite' },
      ),
      'output-not-writable',
    );
    assert.ok(error.message.includes(path.join(dir, 'm.step')), error.message);
    assert.deepEqual(await listing(), ['keep.glb', 'm.step']);
    assert.equal(await fsp.readFile(path.join(dir, 'keep.glb'), 'utf8'), 'old', 'the earlier file was not replaced');
  });

  it('replaces a stale temporary left by an earlier attempt with the same tag', async () => {
    await freshDir();
    await fsp.writeFile(path.join(dir, '.m.glb.job1.i3d-tmp'), 'stale');
    await writeFilesSafely([{ path: path.join(dir, 'm.glb'), data: 'fresh' }], { existing: 'fail', tag: 'job1' });
    assert.deepEqual(await listing(), ['m.glb']);
    assert.equal(await fsp.readFile(path.join(dir, 'm.glb'), 'utf8'), 'fresh');
  });

  it('reports a folder it cannot write to as output-not-writable, naming the folder', async (t: TestContext) => {
    const base = await freshDir();
    const readOnly = path.join(base, 'read-only');
    await fsp.mkdir(readOnly);
    await fsp.chmod(readOnly, 0o555);
    const isRoot = process.getuid?.() === 0;
    if (!isRoot) {
      const error = await rejectsWithCode(
        writeFilesSafely([{ path: path.join(readOnly, 'm.glb'), data: 'x' }], { existing: 'fail' }),
        'output-not-writable',
      );
      assert.ok(error.message.includes(readOnly), error.message);
      assert.ok(namesAction(error.hint, 'choose-output-folder'), plainHint(error.hint));
      assert.deepEqual(await fsp.readdir(readOnly), []);
      return;
    }
    // Root ignores permission bits, so the write runs in a child process as an unprivileged user.
    const dropPrivileges = existsSync('/usr/bin/setpriv')
      ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
      : existsSync('/usr/sbin/runuser')
        ? ['/usr/sbin/runuser', '-u', 'nobody', '--']
        : undefined;
    if (!dropPrivileges) {
      t.skip('running as root without setpriv or runuser: cannot test permission errors');
      return;
    }
    // The unprivileged user must be able to reach the folder.
    for (const p of [root, base]) await fsp.chmod(p, 0o755);
    // The writer is bundled into the test's own (now world-readable) folder, so the unprivileged user
    // needs no access to the checkout, which may sit in a private folder (mktemp -d is 0700).
    const bundle = path.join(root, 'safeWrite.cjs');
    buildSync({ entryPoints: [path.join(REPO_ROOT, 'src/pipeline/writers/safeWrite.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'silent' });
    await fsp.chmod(bundle, 0o644);
    const script = `
      const { writeFilesSafely } = require(${JSON.stringify(bundle)});
      writeFilesSafely([{ path: process.argv[1], data: 'x' }], { existing: 'fail' }).then(
        () => console.log(JSON.stringify({ ok: true })),
        (e) => console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })),
      );`;
    const [command, ...args] = dropPrivileges;
    const child = spawnSync(command!, [...args, process.execPath, '-e', script, path.join(readOnly, 'm.glb')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, HOME: os.tmpdir() },
    });
    assert.equal(child.status, 0, child.stderr);
    const outcome = JSON.parse(child.stdout.trim().split('\n').pop()!) as { code?: string; message?: string; hint?: Hint };
    assert.equal(outcome.code, 'output-not-writable', JSON.stringify(outcome));
    assert.ok(outcome.message!.includes(readOnly), outcome.message);
    assert.ok(namesAction(outcome.hint!, 'choose-output-folder'), JSON.stringify(outcome.hint));
    assert.deepEqual(await fsp.readdir(readOnly), []);
  });

  it('reports a folder that is really a file as output-not-writable', async () => {
    await freshDir();
    const notAFolder = path.join(dir, 'plain-file');
    await fsp.writeFile(notAFolder, '');
    const error = await rejectsWithCode(
      writeFilesSafely([{ path: path.join(notAFolder, 'm.glb'), data: 'x' }], { existing: 'overwrite' }),
      'output-not-writable',
    );
    assert.ok(error.message.includes(notAFolder), error.message);
    assert.deepEqual(await listing(), ['plain-file']);
  });

  it('sweepTemporaryFiles removes only this tag’s temporaries', async () => {
    await freshDir();
    const names = [
      '.m.glb.job7.i3d-tmp',
      '.m (2).step.job7.i3d-tmp',
      '.m.glb.job8.i3d-tmp',
      'm.glb.job7.i3d-tmp',
      '.job7.i3d-tmp',
      '.m.glb.xjob7.i3d-tmp.bak',
      '.m.glb.xjob7.i3d-tmp',
      'm.glb',
    ];
    for (const name of names) await fsp.writeFile(path.join(dir, name), '');
    await fsp.mkdir(path.join(dir, '.folder.job7.i3d-tmp'));
    assert.equal(await sweepTemporaryFiles(dir, 'job7'), 2);
    assert.deepEqual(await listing(), [
      '.folder.job7.i3d-tmp',
      '.job7.i3d-tmp',
      '.m.glb.job8.i3d-tmp',
      '.m.glb.xjob7.i3d-tmp',
      '.m.glb.xjob7.i3d-tmp.bak',
      'm.glb',
      'm.glb.job7.i3d-tmp',
    ]);
    assert.equal(await sweepTemporaryFiles(path.join(dir, 'missing'), 'job7'), 0);
  });
});
