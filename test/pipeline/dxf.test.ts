import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import DxfParser from 'dxf-parser';
import type { Mesh } from '../../src/pipeline/mesh/mesh.js';
import {
  DXF_ENTITY_KINDS,
  dxfLayerName,
  encodeDxf,
  encodeDxfBytes,
  type DxfEntityKind,
} from '../../src/pipeline/writers/dxf.js';
import { ACI_PALETTE, nearestAci } from '../../src/pipeline/writers/dxf/color.js';
import { degenerateCube, gridSphere, icosphere, meshVolume, openBox, unitCube, distinctIndexTriangles } from '../fixtures/meshes.js';
import { mulberry32 } from '../fixtures/numeric.js';

const PYTHON = '/usr/bin/python3';
const ezdxfAvailable = spawnSync(PYTHON, ['-c', 'import ezdxf, numpy'], { stdio: 'ignore' }).status === 0;
const ezdxfSkip = ezdxfAvailable ? false : `ezdxf and numpy are not importable by ${PYTHON} (apt-get install python3-ezdxf)`;

// ---------------------------------------------------------------------------------------------
// Fixtures

/**
 * Separate tetrahedra with no shared vertices: 3 vertices per triangle, so 11 000 triangles need
 * 33 000 vertices — over the polyface limit on vertices while under it on faces. Random colours.
 */
function tetrahedronSoup(count: number): Mesh {
  const random = mulberry32(7);
  const positions = new Float32Array(count * 12 * 3);
  const colors = new Float32Array(count * 12 * 3);
  const indices = new Uint32Array(count * 12);
  // Outward faces of the tetrahedron (0,0,0), (1,0,0), (0,1,0), (0,0,1).
  const faces = [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]];
  for (let i = 0; i < count; i++) {
    const origin = [(i % 50) * 3, Math.floor(i / 50) * 3, random() * 5];
    const size = 0.5 + random() * 2;
    const rgb = [random(), random(), random()];
    const corners = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]];
    faces.forEach((face, f) => {
      face.forEach((corner, k) => {
        const v = i * 12 + f * 3 + k;
        for (let axis = 0; axis < 3; axis++) {
          positions[v * 3 + axis] = origin[axis]! + size * corners[corner]![axis]!;
          colors[v * 3 + axis] = rgb[axis]!;
        }
        indices[v] = v;
      });
    });
  }
  return { positions, indices, colors };
}

/** The cube with three vertices no triangle uses, one of them NaN: none of them may be written. */
function cubeWithUnusedVertices(): Mesh {
  const cube = unitCube(10);
  const positions = new Float32Array(cube.positions.length + 9);
  positions.set([5, 5, 5, NaN, 0, 0]);
  positions.set(cube.positions, 6);
  positions.set([20, 20, 20], cube.positions.length + 6);
  return { positions, indices: cube.indices.map((v) => v + 2) };
}

interface Fixture {
  readonly mesh: Mesh;
  /** Polyface entities expected: more than one when the mesh passes 32767 vertices or faces. */
  readonly polyfaces: number;
}

const FIXTURES: Record<string, () => Fixture> = {
  cube: () => ({ mesh: unitCube(10), polyfaces: 1 }),
  icosphere: () => ({ mesh: icosphere(3, 25), polyfaces: 1 }),
  openBox: () => ({ mesh: openBox(10), polyfaces: 1 }),
  degenerate: () => ({ mesh: degenerateCube(10), polyfaces: 1 }),
  unusedVertices: () => ({ mesh: cubeWithUnusedVertices(), polyfaces: 1 }),
  // 33 026 vertices, 66 048 triangles: split by faces into 32767 + 32767 + 514.
  bigSphere: () => ({ mesh: gridSphere(256, 130, 40), polyfaces: 3 }),
  // 33 000 vertices, 11 000 triangles: split by vertices into 10922 + 78 triangles.
  tetrahedra: () => ({ mesh: tetrahedronSoup(2750), polyfaces: 2 }),
};


/** Nine coordinates per kept triangle, in order, from the mesh itself. */
function expectedCorners(mesh: Mesh): Float64Array {
  const kept = distinctIndexTriangles(mesh);
  const out = new Float64Array(kept.length * 3);
  kept.forEach((v, i) => {
    for (let k = 0; k < 3; k++) out[i * 3 + k] = mesh.positions[v * 3 + k]!;
  });
  return out;
}

function assertCornersEqual(actual: ArrayLike<number>, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: coordinate count`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= 1e-6, `${what}: coordinate ${at} (triangle ${Math.floor(at / 9)}) off by ${worst}`);
}

// ---------------------------------------------------------------------------------------------
// Independent expectations for the layer colour

function srgbToLinear(c: number): number {
  const x = Math.min(Math.max(c, 0), 1);
  return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
}
function linearToSrgbByte(c: number): number {
  const s = c <= 0.0031308 ? c * 12.92 : 1.055 * Math.pow(c, 1 / 2.4) - 0.055;
  return Math.round(Math.min(Math.max(s, 0), 1) * 255);
}

/** Area-weighted mean of the triangles' mean corner colours, averaged in linear light. */
function expectedMeanColour(mesh: Mesh): [number, number, number] {
  const kept = distinctIndexTriangles(mesh);
  const sum = [0, 0, 0];
  let area = 0;
  const p = (v: number): number[] => [mesh.positions[v * 3]!, mesh.positions[v * 3 + 1]!, mesh.positions[v * 3 + 2]!];
  for (let t = 0; t < kept.length; t += 3) {
    const [a, b, c] = [p(kept[t]!), p(kept[t + 1]!), p(kept[t + 2]!)];
    const u = [b[0]! - a[0]!, b[1]! - a[1]!, b[2]! - a[2]!];
    const w = [c[0]! - a[0]!, c[1]! - a[1]!, c[2]! - a[2]!];
    const cross = [u[1]! * w[2]! - u[2]! * w[1]!, u[2]! * w[0]! - u[0]! * w[2]!, u[0]! * w[1]! - u[1]! * w[0]!];
    const triangleArea = Math.hypot(cross[0]!, cross[1]!, cross[2]!) / 2;
    for (let k = 0; k < 3; k++) {
      const mean = (srgbToLinear(mesh.colors![kept[t]! * 3 + k]!) + srgbToLinear(mesh.colors![kept[t + 1]! * 3 + k]!) +
        srgbToLinear(mesh.colors![kept[t + 2]! * 3 + k]!)) / 3;
      sum[k]! += triangleArea * mean;
    }
    area += triangleArea;
  }
  return [linearToSrgbByte(sum[0]! / area), linearToSrgbByte(sum[1]! / area), linearToSrgbByte(sum[2]! / area)];
}

/** dxf-parser's own ACI table (an independent tabulation) as [r, g, b] per index. */
function dxfParserPalette(): number[][] {
  const table = (require('dxf-parser/src/AutoCadColorIndex') as { default: number[] }).default;
  return table.map((c) => [(c >> 16) & 255, (c >> 8) & 255, c & 255]);
}

/** CIELAB of sRGB bytes (D65), written out from the CIE definitions. */
function lab(rgb: readonly number[]): number[] {
  const [r, g, b] = rgb.map((c) => srgbToLinear(c / 255)) as [number, number, number];
  const xyz = [
    (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047,
    0.2126729 * r + 0.7151522 * g + 0.072175 * b,
    (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883,
  ];
  const f = xyz.map((t) => (t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29));
  return [116 * f[1]! - 16, 500 * (f[0]! - f[1]!), 200 * (f[1]! - f[2]!)];
}

/** Nearest entry of a palette by CIELAB distance, skipping 0 and 7 (foreground), lowest index on ties. */
function nearestIn(palette: readonly (readonly number[])[], rgb: readonly number[]): number {
  const target = lab(rgb);
  let best = -1;
  let bestDistance = Infinity;
  for (let i = 1; i < 256; i++) {
    if (i === 7) continue;
    const c = lab(palette[i]!);
    const d = (c[0]! - target[0]!) ** 2 + (c[1]! - target[1]!) ** 2 + (c[2]! - target[2]!) ** 2;
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  }
  return best;
}

/** The file as group-code/value pairs, grouped into records that each start at a code 0. */
function records(text: string): [number, string][][] {
  const lines = text.split('\r\n');
  const out: [number, string][][] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const code = Number(lines[i]);
    if (code === 0 || out.length === 0) out.push([]);
    out[out.length - 1]!.push([code, lines[i + 1]!]);
  }
  return out;
}

/** The pairs of the LAYER record with this name. */
function layerRecord(text: string, name: string): Map<number, string> {
  const record = records(text).find((r) => r[0]![1] === 'LAYER' && r.some(([code, value]) => code === 2 && value === name));
  assert.ok(record, `layer ${name} is defined`);
  return new Map(record);
}

// ---------------------------------------------------------------------------------------------
// ezdxf

/**
 * Reads the file with ezdxf, audits it, and writes every triangle it reads back (nine float64 each,
 * in file order) to a side file; the summary comes back as JSON.
 */
const EZDXF_READ = String.raw`
import json, sys
import ezdxf, numpy as np
path, out = sys.argv[1], sys.argv[2]
doc = ezdxf.readfile(path)
auditor = doc.audit()
msp = doc.modelspace()
tris, blocks, kinds = [], [], {}
open_fourth = 0
for e in msp:
    t = e.dxftype()
    kinds[t] = kinds.get(t, 0) + 1
    if t == "3DFACE":
        v = [e.dxf.vtx0, e.dxf.vtx1, e.dxf.vtx2, e.dxf.vtx3]
        if not v[3].isclose(v[2], abs_tol=0): open_fourth += 1
        tris.append([c for p in v[:3] for c in p])
    elif t == "POLYLINE":
        vertices, faces = e.indexed_faces()
        faces = list(faces)
        referenced = set()
        hidden = 0
        for f in faces:
            referenced.update(f.indices)
            hidden += sum(0 if f.is_edge_visible(k) else 1 for k in range(len(f)))
            tris.append([c for p in f.points() for c in p])
        blocks.append({"polyface": e.is_poly_face_mesh, "vertices": len(vertices), "faces": len(faces),
                       "declared": [e.dxf.m_count, e.dxf.n_count], "referenced": len(referenced),
                       "corners": sorted({len(f) for f in faces}), "hiddenEdges": hidden})
    elif t == "MESH":
        vertices = list(e.vertices)
        faces = [list(f) for f in e.faces]
        for f in faces:
            tris.append([c for i in f for c in vertices[i]])
        blocks.append({"vertices": len(vertices), "faces": len(faces), "corners": sorted({len(f) for f in faces}),
                       "referenced": len({i for f in faces for i in f})})
arr = np.array(tris, dtype=np.float64).reshape(-1, 9)
arr.tofile(out)
a, b, c = arr[:, 0:3], arr[:, 3:6], arr[:, 6:9]
volume = float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)
print(json.dumps({
    "errors": [f"{e.code}: {e.message}" for e in auditor.errors],
    "fixes": [f"{e.code}: {e.message}" for e in auditor.fixes],
    "version": doc.dxfversion,
    "insunits": doc.header.get("$INSUNITS"),
    "measurement": doc.header.get("$MEASUREMENT"),
    "kinds": kinds,
    "entityLayers": sorted({e.dxf.layer for e in msp}),
    "layers": {l.dxf.name: {"color": l.dxf.color, "rgb": list(l.rgb) if l.has_dxf_attrib("true_color") else None}
               for l in doc.layers},
    "blocks": blocks,
    "openFourth": open_fourth,
    "volume": volume,
}))
`;

interface EzdxfBlock {
  polyface?: boolean;
  vertices: number;
  faces: number;
  declared?: [number, number];
  referenced: number;
  corners: number[];
  hiddenEdges?: number;
}
interface EzdxfRead {
  errors: string[];
  fixes: string[];
  version: string;
  insunits: number | null;
  measurement: number | null;
  kinds: Record<string, number>;
  entityLayers: string[];
  layers: Record<string, { color: number; rgb: [number, number, number] | null }>;
  blocks: EzdxfBlock[];
  openFourth: number;
  volume: number;
  corners: Float64Array;
}

async function readWithEzdxf(dir: string, name: string, text: string): Promise<EzdxfRead> {
  const file = path.join(dir, `${name}.dxf`);
  const side = path.join(dir, `${name}.bin`);
  await fsp.writeFile(file, text);
  const run = spawnSync(PYTHON, ['-c', EZDXF_READ, file, side], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as Omit<EzdxfRead, 'corners'>;
  const bytes = readFileSync(side);
  const corners = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { ...result, corners };
}

// ---------------------------------------------------------------------------------------------
// dxf-parser

interface ParsedVertex {
  x: number;
  y: number;
  z: number;
  faceA?: number;
  faceB?: number;
  faceC?: number;
  faceD?: number;
  threeDPolylineMesh?: boolean;
  polyfaceMeshVertex?: boolean;
  layer?: string;
}
interface ParsedEntity {
  type: string;
  layer: string;
  vertices: ParsedVertex[];
  isPolyfaceMesh?: boolean;
}
interface ParsedDxf {
  header: Record<string, unknown>;
  entities: ParsedEntity[];
  tables: { layer: { layers: Record<string, { colorIndex: number }> } };
  blocks: Record<string, unknown>;
}

function parseWithDxfParser(text: string): ParsedDxf {
  const parsed = new DxfParser().parseSync(text);
  assert.ok(parsed, 'dxf-parser returned a document');
  return parsed as unknown as ParsedDxf;
}

/** Triangles as nine coordinates each, rebuilt from what dxf-parser read, for the R12 kinds. */
function cornersFromDxfParser(dxf: ParsedDxf, kind: DxfEntityKind): number[] {
  const out: number[] = [];
  for (const e of dxf.entities) {
    if (kind === '3dface') {
      assert.equal(e.type, '3DFACE');
      const [a, b, c, d] = e.vertices;
      assert.deepEqual([d!.x, d!.y, d!.z], [c!.x, c!.y, c!.z], 'fourth corner repeats the third');
      for (const p of [a!, b!, c!]) out.push(p.x, p.y, p.z);
    } else {
      assert.equal(e.type, 'POLYLINE');
      assert.equal(e.isPolyfaceMesh, true);
      // Position records carry flag 64 as well as 128; face records only 128.
      const positions = e.vertices.filter((v) => v.threeDPolylineMesh);
      const faces = e.vertices.filter((v) => !v.threeDPolylineMesh);
      for (const f of faces) {
        assert.equal(f.polyfaceMeshVertex, true);
        assert.equal(f.faceD ?? 0, 0, 'triangles have no fourth index');
        for (const index of [f.faceA!, f.faceB!, f.faceC!]) {
          assert.ok(index > 0 && index <= positions.length, `index ${index} is a visible edge within the vertex list`);
          const p = positions[index - 1]!;
          out.push(p.x, p.y, p.z);
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('DXF writer', () => {
  let dir: string;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'i3d-dxf-kinds-'));
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  for (const kind of DXF_ENTITY_KINDS) {
    describe(`entity '${kind}'`, () => {
      for (const [name, make] of Object.entries(FIXTURES)) {
        it(`${name}: reads back identically in dxf-parser and ezdxf`, async (t: TestContext) => {
          const { mesh, polyfaces } = make();
          const text = encodeDxf(mesh, { layer: `${name} model`, entity: kind });
          const layer = dxfLayerName(`${name} model`);
          const kept = distinctIndexTriangles(mesh);
          const triangles = kept.length / 3;
          const expected = expectedCorners(mesh);
          const colour = mesh.colors ? expectedMeanColour(mesh) : undefined;
          const aci = colour ? nearestIn(ACI_PALETTE, colour) : 7;

          assert.equal(/\r(?!\n)|(?<!\r)\n/.test(text), false, 'CRLF throughout');
          assert.doesNotMatch(text, /\d[eE][+-]?\d/, 'no exponent form');
          const version = kind === 'mesh' ? 'AC1024' : 'AC1009';
          assert.match(text, new RegExp(`\\$ACADVER\\r\\n1\\r\\n${version}\\r\\n`));
          if (kind === 'mesh') {
            assert.match(text, /\$INSUNITS\r\n70\r\n4\r\n/);
            assert.match(text, /\$MEASUREMENT\r\n70\r\n1\r\n/);
          } else {
            assert.doesNotMatch(text, /\$INSUNITS/, 'R12 defines no $INSUNITS');
          }

          const dxf = parseWithDxfParser(text);
          assert.equal(dxf.header.$ACADVER, version);
          assert.equal(dxf.tables.layer.layers[layer]?.colorIndex, aci, 'layer colour (ACI)');
          if (kind === 'mesh') {
            // dxf-parser has no MESH support: it must skip the entity, not fail or misread it.
            assert.deepEqual(dxf.entities, []);
            assert.equal(dxf.header.$INSUNITS, 4);
            assert.ok(dxf.blocks['*Model_Space'] && dxf.blocks['*Paper_Space']);
          } else {
            assert.equal(dxf.entities.length, kind === '3dface' ? triangles : polyfaces);
            assert.ok(dxf.entities.every((e) => e.layer === layer));
            assertCornersEqual(cornersFromDxfParser(dxf, kind), expected, 'dxf-parser');
          }

          await t.test('ezdxf reads and audits it cleanly', { skip: ezdxfSkip }, async () => {
            const read = await readWithEzdxf(dir, `${kind}-${name}`, text);
            assert.deepEqual(read.errors, [], 'audit errors');
            assert.deepEqual(read.fixes, [], 'audit fixes');
            assert.equal(read.version, version);
            assert.deepEqual(read.entityLayers, [layer]);
            assert.equal(read.layers[layer]?.color, aci);
            if (kind === 'mesh') {
              assert.equal(read.insunits, 4);
              assert.equal(read.measurement, 1);
              assert.deepEqual(read.layers[layer]?.rgb, colour ?? null, 'true colour on the layer');
            } else {
              assert.equal(read.insunits, null);
              assert.equal(read.layers[layer]?.rgb, null, 'R12 has no true colour');
            }
            assertCornersEqual(read.corners, expected, 'ezdxf');
            const volume = meshVolume(mesh.positions, kept);
            assert.ok(Math.abs(read.volume - volume) <= 1e-6 * Math.max(1, Math.abs(volume)), `volume ${read.volume} vs ${volume}`);

            if (kind === '3dface') {
              assert.deepEqual(read.kinds, { '3DFACE': triangles });
              assert.equal(read.openFourth, 0);
            } else if (kind === 'polyface') {
              assert.deepEqual(read.kinds, { POLYLINE: polyfaces });
              checkPolyfaceBlocks(read.blocks, kept, triangles);
            } else {
              assert.deepEqual(read.kinds, { MESH: 1 });
              const [block] = read.blocks;
              assert.equal(block!.faces, triangles);
              assert.equal(block!.vertices, new Set(kept).size, 'each used vertex once');
              assert.equal(block!.referenced, block!.vertices);
              assert.deepEqual(block!.corners, [3]);
            }
          });
        });
      }
    });
  }

  it('MESH files have unique handles below $HANDSEED, and references that resolve', () => {
    const text = encodeDxf(icosphere(2, 5), { layer: 'handles', entity: 'mesh' });
    const pairs = records(text).flat();
    const seedAt = pairs.findIndex(([code, value]) => code === 9 && value === '$HANDSEED');
    assert.ok(seedAt >= 0, '$HANDSEED present');
    const seed = parseInt(pairs[seedAt + 1]![1], 16);
    const handles = pairs.slice(seedAt + 2).filter(([code]) => code === 5 || code === 105).map(([, v]) => parseInt(v, 16));
    assert.ok(handles.length > 20);
    assert.equal(new Set(handles).size, handles.length, 'handles are unique');
    assert.ok(handles.every((h) => h > 0 && h < seed), 'every handle is below $HANDSEED');
    const known = new Set(handles);
    const references = pairs.filter(([code]) => code === 330 || code === 350).map(([, v]) => parseInt(v, 16));
    for (const r of references) assert.ok(r === 0 || known.has(r), `reference ${r.toString(16)} names an object in the file`);
  });

  it('splits polyfaces exactly at 32767 faces', () => {
    // A 128 × 128 grid of quads: 32768 triangles over 16641 vertices, one face over the limit.
    const n = 128;
    const positions = new Float32Array((n + 1) * (n + 1) * 3);
    for (let j = 0; j <= n; j++) for (let i = 0; i <= n; i++) positions.set([i, j, 0], (j * (n + 1) + i) * 3);
    const indices: number[] = [];
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const a = j * (n + 1) + i;
        indices.push(a, a + 1, a + n + 2, a, a + n + 2, a + n + 1);
      }
    }
    const count = (ix: number[]): number[] => {
      const dxf = parseWithDxfParser(encodeDxf({ positions, indices: new Uint32Array(ix) }, { layer: 'grid', entity: 'polyface' }));
      return dxf.entities.map((e) => e.vertices.filter((v) => !v.threeDPolylineMesh).length);
    };
    assert.deepEqual(count(indices), [32767, 1]);
    assert.deepEqual(count(indices.slice(0, 32767 * 3)), [32767]);
  });

  it('splits MESH entities past a million faces', () => {
    // 1 000 001 triangles in a strip: one face over AutoCAD's default SMOOTHMESHMAXFACE.
    const triangles = 1_000_001;
    const positions = new Float32Array((triangles + 2) * 3);
    for (let v = 0; v < triangles + 2; v++) positions.set([Math.floor(v / 2), v % 2, 0], v * 3);
    const indices = new Uint32Array(triangles * 3);
    for (let t = 0; t < triangles; t++) indices.set(t % 2 === 0 ? [t, t + 1, t + 2] : [t + 1, t, t + 2], t * 3);
    const text = Buffer.from(encodeDxfBytes({ positions, indices }, { layer: 'strip', entity: 'mesh' })).toString('latin1');
    assert.equal(text.split('\r\n0\r\nMESH\r\n').length - 1, 2);
    const faceSizes = [...text.matchAll(/\r\n93\r\n(\d+)\r\n90\r\n3\r\n/g)].map((m) => Number(m[1]));
    assert.deepEqual(faceSizes, [4_000_000, 4]);
    assert.match(text, /\r\nMESH\r\n2\r\nAcDbSubDMesh\r\n3\r\nObjectDBX Classes\r\n90\r\n0\r\n91\r\n2\r\n/, 'class instance count');
  });

  it('formats coordinates in fixed point: at most 6 decimals, no trailing zeros, within half a micrometre', () => {
    const random = mulberry32(11);
    const count = 3000;
    const positions = new Float32Array(count * 9);
    for (let i = 0; i < positions.length; i++) {
      // Magnitudes from 1e-8 to 1e12, both signs, plus exact integers and zeros.
      const kind = i % 5;
      const magnitude = 10 ** (random() * 20 - 8);
      positions[i] = kind === 0 ? Math.round(random() * 2000 - 1000) : kind === 1 ? 0 : (random() < 0.5 ? -1 : 1) * magnitude;
    }
    const indices = Uint32Array.from({ length: count * 3 }, (_, i) => i);
    for (const entity of DXF_ENTITY_KINDS) {
      const text = encodeDxf({ positions, indices }, { layer: 'n', entity });
      const values = records(text)
        .filter((r) => r[0]![1] === (entity === '3dface' ? '3DFACE' : entity === 'mesh' ? 'MESH' : 'VERTEX'))
        .flatMap((r) => r.filter(([code]) => code >= 10 && code < 40).map(([, value]) => value));
      const expected = entity === '3dface' ? expectedCorners({ positions, indices }).length / 9 * 12 : positions.length + (entity === 'polyface' ? count * 3 : 0);
      assert.equal(values.length, expected);
      for (const value of values) assert.match(value, /^-?(0|[1-9]\d*)(\.\d{0,5}[1-9])?$/, `fixed-point text: ${value}`);
      // In file order the values follow the positions: every vertex is used once, so the polyface
      // lists them in mesh order before its face records (which carry 0, 0, 0), and each 3DFACE repeats
      // its third corner as the fourth.
      const corners =
        entity === 'polyface'
          ? values.slice(0, positions.length)
          : entity === '3dface'
            ? values.filter((_, i) => Math.floor(i / 3) % 4 !== 3)
            : values;
      if (entity === 'polyface') assert.ok(values.slice(positions.length).every((v) => v === '0'));
      assert.equal(corners.length, positions.length);
      corners.forEach((value, i) => {
        const x = positions[i]!;
        assert.ok(Math.abs(Number(value) - x) <= 5e-7 + Math.abs(x) * 1e-15, `${value} for ${x}`);
      });
    }
  });

  it('derives the standard ACI palette', () => {
    assert.equal(ACI_PALETTE.length, 256);
    // Entries as AutoCAD's colour dialog lists them.
    const known: Record<number, [number, number, number]> = {
      1: [255, 0, 0], 2: [255, 255, 0], 3: [0, 255, 0], 4: [0, 255, 255], 5: [0, 0, 255], 6: [255, 0, 255],
      7: [255, 255, 255], 8: [128, 128, 128], 9: [192, 192, 192], 10: [255, 0, 0], 11: [255, 127, 127],
      21: [255, 159, 127], 54: [153, 153, 0], 134: [0, 153, 153], 249: [76, 38, 47],
      250: [51, 51, 51], 251: [91, 91, 91], 254: [214, 214, 214], 255: [255, 255, 255],
    };
    for (const [index, rgb] of Object.entries(known)) assert.deepEqual(ACI_PALETTE[Number(index)], rgb, `ACI ${index}`);
    // dxf-parser tabulates the same palette, but with 152 where 60 % of 255 (153) is meant for most hues.
    const theirs = dxfParserPalette();
    for (let i = 1; i < 256; i++) {
      for (let k = 0; k < 3; k++) {
        assert.ok(Math.abs(ACI_PALETTE[i]![k]! - theirs[i]![k]!) <= 1, `ACI ${i} channel ${k}: ${ACI_PALETTE[i]} vs ${theirs[i]}`);
      }
    }
  });

  it('picks the nearest ACI by CIELAB distance, never 7', () => {
    assert.equal(nearestAci([255, 0, 0]), 1);
    assert.equal(nearestAci([255, 255, 255]), 255, 'white is 255, not the foreground colour 7');
    assert.equal(nearestAci([128, 128, 128]), 8);
    assert.equal(nearestAci([0, 0, 0]), 250, 'black is the darkest grey, not dark red');
    const random = mulberry32(3);
    for (let i = 0; i < 200; i++) {
      const rgb = [Math.floor(random() * 256), Math.floor(random() * 256), Math.floor(random() * 256)] as const;
      assert.equal(nearestAci(rgb), nearestIn(ACI_PALETTE, rgb), `nearest to ${rgb}`);
    }
  });

  it('colours the layer after the mesh: uniform, mixed, and without colours', () => {
    const cube = unitCube(1);
    const paint = (rgb: number[]): Mesh => ({ ...cube, colors: new Float32Array(Array.from({ length: 8 }, () => rgb).flat()) });
    const layerOf = (mesh: Mesh, entity: DxfEntityKind): Map<number, string> => layerRecord(encodeDxf(mesh, { layer: 'c', entity }), 'C');
    assert.equal(layerOf(paint([1, 0, 0]), '3dface').get(62), '1');
    assert.equal(layerOf(paint([1, 0, 0]), '3dface').has(420), false, 'R12 layers have no true colour');
    assert.equal(layerOf(paint([1, 0, 0]), 'mesh').get(62), '1');
    assert.equal(layerOf(paint([1, 0, 0]), 'mesh').get(420), String(0xff0000));
    assert.equal(layerOf(paint([1, 1, 1]), 'polyface').get(62), '255');
    assert.equal(layerOf(cube, 'mesh').get(62), '7', 'no colours: 7');
    assert.equal(layerOf(cube, 'mesh').has(420), false);
    // The -z corners red, the +z corners blue: the mean in linear light is about (0.5, 0, 0.5), which
    // encodes to sRGB 188 — brighter than the naive sRGB mean of 128.
    const half = new Float32Array(24);
    for (let v = 0; v < 8; v++) half.set(v & 4 ? [0, 0, 1] : [1, 0, 0], v * 3);
    const trueColor = Number(layerOf({ ...cube, colors: half }, 'mesh').get(420));
    const rgb = [(trueColor >> 16) & 255, (trueColor >> 8) & 255, trueColor & 255];
    assert.deepEqual(rgb, expectedMeanColour({ ...cube, colors: half }));
    assert.ok(rgb[0]! > 170 && rgb[2]! > 170 && rgb[1] === 0, `mixed colour ${rgb}`);
  });

  it('writes the same bytes through every entry point', () => {
    const mesh = icosphere(1, 3);
    for (const entity of DXF_ENTITY_KINDS) {
      const text = encodeDxf(mesh, { layer: 'x', entity });
      assert.equal(Buffer.from(encodeDxfBytes(mesh, { layer: 'x', entity })).toString('latin1'), text);
    }
    assert.equal(encodeDxf(mesh, { layer: 'x' }), encodeDxf(mesh, { layer: 'x', entity: '3dface' }), "'3dface' is the default");
  });

  it('puts a model named "0" on layer 0 without defining it twice', async (t: TestContext) => {
    const text = encodeDxf(unitCube(), { layer: '0', entity: 'mesh' });
    assert.equal(records(text).filter((r) => r[0]![1] === 'LAYER').length, 1);
    await t.test('ezdxf agrees', { skip: ezdxfSkip }, async () => {
      const read = await readWithEzdxf(dir, 'layer0', text);
      assert.deepEqual(read.errors, []);
      assert.deepEqual(read.entityLayers, ['0']);
    });
  });

  it('rejects bad input with clear errors', () => {
    const cube = unitCube();
    assert.throws(() => encodeDxf(cube, { layer: 'x', entity: 'stl' as DxfEntityKind }), RangeError);
    assert.throws(() => encodeDxf({ positions: new Float32Array(9), indices: new Uint32Array([0, 0, 1]) }, { layer: 'x' }), /no non-degenerate/);
    assert.throws(() => encodeDxf({ ...cube, colors: new Float32Array(3) }, { layer: 'x', entity: 'mesh' }), /colours/);
    const nan = new Float32Array(cube.positions);
    nan[0] = NaN;
    for (const entity of DXF_ENTITY_KINDS) assert.throws(() => encodeDxf({ ...cube, positions: nan }, { layer: 'x', entity }), /non-finite/);
  });
});

/**
 * Polyface blocks as ezdxf read them: within 32767 vertices and faces, the declared counts right,
 * triangles only, all edges visible, and each mesh vertex once per block (no unused or repeated ones).
 */
function checkPolyfaceBlocks(blocks: EzdxfBlock[], kept: number[], triangles: number): void {
  let start = 0;
  for (const block of blocks) {
    assert.equal(block.polyface, true);
    assert.ok(block.vertices <= 32767 && block.faces <= 32767, `block of ${block.vertices} vertices, ${block.faces} faces`);
    assert.deepEqual(block.declared, [block.vertices, block.faces], 'groups 71/72 give the counts');
    assert.deepEqual(block.corners, [3]);
    assert.equal(block.hiddenEdges, 0);
    const distinct = new Set(kept.slice(start * 3, (start + block.faces) * 3)).size;
    assert.equal(block.vertices, distinct, 'each mesh vertex once per block');
    assert.equal(block.referenced, block.vertices);
    start += block.faces;
  }
  assert.equal(start, triangles);
}
